// Moving push subscribers in and out as NDJSON, one `{"subscription":{…},"topics"?:[…]}` per line:
// how a site brings its subscribers over from another provider, and takes them away again.
// Each line gets exactly the validation of a single subscribe; good lines are written a
// thousand at a time (a few pipelined round trips each), bad lines are reported by number.
import type { z } from 'zod';
import type { PushSubscribers } from '../store/push-subscribers';
import type { Topics } from '../store/topics';
import type { pushSubscriptionSchema } from '../schemas';

export interface ImportSummary {
  imported: number;
  updated: number;
  rejected: number;
  /** The first MAX_ERRORS rejected lines (1-based line numbers); `rejected` counts them all. */
  errors: { line: number; reason: string }[];
}

type SubscriptionSchema = ReturnType<typeof pushSubscriptionSchema>;
type Valid = z.output<SubscriptionSchema>;

const CHUNK = 1000;
const MAX_ERRORS = 1000;
/** A subscription line is ~400 bytes; anything this long is not one. */
export const MAX_LINE_BYTES = 16 * 1024;
const NEWLINE = 0x0a;

/** Splits a byte stream into lines (LF or CRLF) without ever decoding half a UTF-8 sequence. */
async function* lines(source: AsyncIterable<Buffer | string>): AsyncGenerator<{ n: number; text: string | null }> {
  let rest = Buffer.alloc(0);
  let n = 0;
  let skipping = false; // inside a line already reported as too long
  const text = (b: Buffer) => {
    const s = b.toString('utf8');
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  };
  for await (const piece of source) {
    let buf = rest.length > 0 ? Buffer.concat([rest, Buffer.from(piece)]) : Buffer.from(piece);
    let at: number;
    while ((at = buf.indexOf(NEWLINE)) !== -1) {
      n++;
      if (skipping) skipping = false;
      else yield { n, text: at > MAX_LINE_BYTES ? null : text(buf.subarray(0, at)) };
      buf = buf.subarray(at + 1);
    }
    if (buf.length > MAX_LINE_BYTES) {
      if (!skipping) yield { n: n + 1, text: null };
      skipping = true;
      buf = Buffer.alloc(0);
    }
    rest = buf;
  }
  if (rest.length > 0 && !skipping) yield { n: n + 1, text: text(rest) };
}

function problem(schema: SubscriptionSchema, line: string): { ok: Valid } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { reason: 'not valid JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: parsed.data };
  const issue = parsed.error.issues[0];
  return { reason: `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}` };
}

export async function importSubscriptions(
  source: AsyncIterable<Buffer | string>,
  subscribers: PushSubscribers,
  schema: SubscriptionSchema,
  topics: Topics,
): Promise<ImportSummary> {
  const summary: ImportSummary = { imported: 0, updated: 0, rejected: 0, errors: [] };
  // Imported lines choose among the newsroom's topics like any subscriber: a line naming another
  // one is refused by itself, instead of failing the whole chunk it would be written with.
  const known = new Set((await topics.table()).values());
  let pending: Valid[] = [];
  const flush = async () => {
    const results = await subscribers.upsertMany(
      pending.map(({ subscription: s, topics, timeZone, quietHours, lang }) => ({
        endpoint: s.endpoint,
        p256dh: s.keys.p256dh,
        auth: s.keys.auth,
        topics,
        ...(timeZone ? { timeZone } : {}),
        ...(quietHours ? { quietHours } : {}),
        ...(lang ? { lang } : {}),
      })),
    );
    for (const r of results) summary[r.created ? 'imported' : 'updated']++;
    pending = [];
  };
  for await (const { n, text } of lines(source)) {
    if (text !== null && text.trim() === '') continue;
    let v =
      text === null
        ? { reason: `line longer than ${MAX_LINE_BYTES} bytes` }
        : problem(schema, n === 1 ? text.replace(/^\uFEFF/, '') : text);
    const stranger = 'ok' in v ? v.ok.topics.find((t) => !known.has(t)) : undefined;
    if (stranger !== undefined) v = { reason: `topics: unknown topic "${stranger}"` };
    if ('reason' in v) {
      summary.rejected++;
      if (summary.errors.length < MAX_ERRORS) summary.errors.push({ line: n, reason: v.reason });
      continue;
    }
    pending.push(v.ok);
    if (pending.length >= CHUNK) await flush();
  }
  if (pending.length > 0) await flush();
  return summary;
}

/** Every subscriber as an import line, in id order; what `importSubscriptions` reads back. */
export async function* exportSubscriptions(subscribers: PushSubscribers, topics: Topics): AsyncGenerator<string> {
  const names = await topics.table(); // retired ids are left out: they name nothing now
  for await (const records of subscribers.scan()) {
    // One bucket's languages in one read, so a line imported back keeps its reader's language.
    const langOf = await subscribers.languages.of(records.map((r) => r.id));
    let out = '';
    for (const r of records) {
      const lang = langOf.get(r.id);
      const line = {
        subscription: { endpoint: r.endpoint, keys: { p256dh: r.p256dh.toString('base64url'), auth: r.auth.toString('base64url') } },
        topics: r.topicIds.flatMap((id) => names.get(id) ?? []),
        ...(lang ? { lang } : {}),
      };
      out += JSON.stringify(line) + '\n';
    }
    yield out;
  }
}
