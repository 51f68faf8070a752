// `depeche subscribers import|export`: push subscribers as NDJSON, streamed both ways (a file of a
// million lines is never held in memory), with a progress bar, the rate, and the refused lines.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { usage, type Client } from './client';
import { meter, type Meter } from './progress';
import type { Output } from './output';

const NDJSON = 'application/x-ndjson';

interface ImportSummary {
  imported: number;
  updated: number;
  rejected: number;
  errors: { line: number; reason: string }[];
}

/** Counts bytes and lines on their way through, and reports them with the rate. */
function counter(bar: Meter | null, name: string, total: () => number, unit: 'bytes' | 'lines'): Transform & { lines: () => number } {
  const started = Date.now();
  let bytes = 0;
  let lines = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      const rate = Math.round(lines / Math.max((Date.now() - started) / 1000, 0.001));
      const value = unit === 'bytes' ? bytes : lines;
      bar?.update(name, value, Math.max(total(), value), `${unit === 'bytes' ? 'octets, ' : ''}${lines} lignes, ${rate} lignes/s`);
      done(null, chunk);
    },
  });
  return Object.assign(t, { lines: () => lines });
}

export async function importFile(client: Client, file: string, out: Output): Promise<ImportSummary> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch (err) {
    throw usage(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const bar = out.json ? null : meter(out.stdout);
  const count = counter(bar, 'import', () => size, 'bytes');
  const body = Readable.toWeb(createReadStream(file).pipe(count)) as ReadableStream<Uint8Array>;
  try {
    // No overall timeout: a large file takes as long as it takes; the stream itself keeps moving.
    const r = await client.call('POST', '/api/subscriptions/push/import', {
      stream: body,
      headers: { 'content-type': NDJSON },
      timeoutMs: 0,
    });
    return r.json as ImportSummary;
  } finally {
    bar?.stop();
  }
}

export function describeImport(s: ImportSummary, shown = 10): string {
  const lines = [`importés ${s.imported}, mis à jour ${s.updated}, refusés ${s.rejected}`];
  for (const e of s.errors.slice(0, shown)) lines.push(`  ligne ${e.line} : ${e.reason}`);
  if (s.rejected > shown) lines.push(`  … et ${s.rejected - shown} autres lignes refusées`);
  return lines.join('\n');
}

/** Writes every push subscriber to `file` (or stdout); progress goes where it does not mix with the data. */
export async function exportTo(client: Client, file: string | undefined, out: Output): Promise<number> {
  const progressTo = file !== undefined ? out.stdout : out.stderr;
  const bar = out.json && file === undefined ? null : meter(progressTo);
  // The total is an estimate (active subscribers now); the bar grows if more come out.
  const expected = (await client.call('GET', '/api/audience')).json as { push?: number };
  const res = await client.raw('GET', '/api/subscriptions/push/export', { timeoutMs: 0, headers: { accept: NDJSON } });
  const count = counter(bar, 'export', () => expected.push ?? 0, 'lines');
  const sink: Writable = file !== undefined ? createWriteStream(file) : out.stdout;
  try {
    await pipeline(Readable.fromWeb(res.body!), count, sink, { end: file !== undefined });
  } finally {
    bar?.stop();
  }
  return count.lines();
}
