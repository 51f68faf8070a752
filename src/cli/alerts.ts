// The alert commands: publish (with an Idempotency-Key made here, so retrying never sends twice),
// update, correct, cancel, and status, which can follow delivery live on GET /api/events.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createParser } from 'eventsource-parser';
import { CliError, EXIT, networkError, usage, type Client } from './client';
import { meter } from './progress';
import type { Output } from './output';

/** The part of the alert view the CLI shows. */
interface View {
  id: string;
  rev: number;
  title: string;
  status: string;
  channels: string[];
  delivery: Record<string, { targeted: number; sent: number; failed: number } & Record<string, number>>;
  pending: Record<string, number>;
}

const FINAL: Record<string, number> = { delivered: EXIT.ok, cancelled: EXIT.notDelivered };

export function summary(v: View): string {
  const channels = v.channels.map((c) => {
    const d = v.delivery[c];
    return d ? `${c} ${d.sent}/${d.targeted}` : c;
  });
  return `${v.id} rév. ${v.rev} ${v.status} — ${channels.join(' · ')} — « ${v.title} »`;
}

/** Reads `--file`, then lays the flags given over it. */
export async function alertBody(file: string | undefined, flags: Record<string, unknown>): Promise<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw usage(`${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw usage(`${file}: not valid JSON`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw usage(`${file}: must hold one JSON object`);
  }
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return { ...base, ...given };
}

const RETRIES = 3;

/**
 * POST /api/alerts with one Idempotency-Key for every attempt: when an answer is lost (network,
 * 5xx), the next attempt gets the alert the first one created instead of a second alert.
 */
export async function publish(
  client: Client,
  body: Record<string, unknown>,
  key: string = randomUUID(),
): Promise<{ view: View; replayed: boolean; key: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await client.call('POST', '/api/alerts', { body, headers: { 'idempotency-key': key } });
      return { view: r.json as View, replayed: r.headers.get('idempotent-replayed') === 'true', key };
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode !== EXIT.network || attempt >= RETRIES) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

export async function revise(
  client: Client,
  id: string,
  what: 'updates' | 'corrections' | 'cancel',
  body: Record<string, unknown> = {},
): Promise<View> {
  return (await client.call('POST', `/api/alerts/${encodeURIComponent(id)}/${what}`, { body })).json as View;
}

export async function getAlert(client: Client, id: string): Promise<View> {
  return (await client.call('GET', `/api/alerts/${encodeURIComponent(id)}`)).json as View;
}

/**
 * Follows one alert on the event stream until it is delivered (exit 0) or cancelled (exit 4):
 * a bar per channel on a terminal, a line per change otherwise, a JSON line per change with --json.
 */
export async function watch(client: Client, id: string, out: Output, timeoutS?: number): Promise<number> {
  const stream = await client.raw('GET', '/api/events', { headers: { accept: 'text/event-stream' }, timeoutMs: 0 });
  const bars = out.json ? null : meter(out.stdout);
  let last = '';
  const show = (v: View): number | null => {
    const key = JSON.stringify([v.status, v.delivery, v.pending]);
    if (key !== last) {
      last = key;
      if (out.json) out.line(JSON.stringify({ id: v.id, rev: v.rev, status: v.status, delivery: v.delivery, pending: v.pending }));
      else
        for (const c of v.channels) {
          const d = v.delivery[c];
          if (!d) continue;
          bars?.update(c, d.targeted - (v.pending[c] ?? 0), d.targeted, `envoyés ${d.sent}, échecs ${d.failed} (${v.status})`);
        }
    }
    return FINAL[v.status] ?? null;
  };
  const reader = stream.body!.getReader();
  const timer = timeoutS === undefined ? undefined : setTimeout(() => void reader.cancel('timeout'), timeoutS * 1000);
  try {
    // Connected first, then read once: a delivery finished in between is not missed.
    let done = show(await getAlert(client, id));
    let signedOut = false;
    const parser = createParser({
      onEvent: (e) => {
        if (e.event === 'signed-out') signedOut = true;
        if (done !== null || e.event !== 'alert') return;
        const v = JSON.parse(e.data) as View;
        if (v.id === id) done = show(v);
      },
    });
    const text = new TextDecoder();
    while (done === null && !signedOut) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw networkError(client.url, err);
      }
      if (chunk.done) break;
      parser.feed(text.decode(chunk.value as Uint8Array, { stream: true }));
    }
    if (done !== null) return done;
    throw new CliError(
      EXIT.network,
      timeoutS !== undefined ? `${id}: not delivered after ${timeoutS} s` : `${client.url}: the event stream ended`,
    );
  } finally {
    clearTimeout(timer);
    bars?.stop();
    await reader.cancel().catch(() => undefined);
  }
}
