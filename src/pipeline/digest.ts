// The daily digest: alerts in reverse. A BullMQ job scheduler ticks every minute; the tick finds
// the (time zone, time) groups whose local minute it is and queues one job per group; the group
// job walks the group's bitmap and queues one batch per block of ids that holds a reader; a batch
// mails each reader the stories of the last 24 hours they follow, or nothing when there were none.
// Every job id is deterministic, so a replayed tick or group queues nothing new, and each reader's
// local day is claimed (one SETBIT) before the send: at most one digest a day, crash or not.
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { DigestStore } from '../store/digest';
import type { EmailSubscriber, EmailSubscribers } from '../store/email-subscribers';
import type { Suppressions } from '../store/suppressions';
import type { MailTransport } from '../email/transport';
import type { TokenSigner } from '../tokens';
import type { Logger } from '../log';
import { asciiAddress } from '../email/address';
import { classifySmtpError, emailLinks } from '../channels/email';
import { dueRuns } from '../digest-clock';
import { popcount } from '../bits';
import { storiesOf, type DigestCache } from './digest-content';

// --- the job's contract ------------------------------------------------------------------------

export const DIGEST_QUEUE = 'digest';
/** tick: the scheduler's minute; group: one group due at `at`; batch: one block of that group. */
export type DigestJob =
  | { kind: 'tick' }
  | { kind: 'group'; at: number; date: string; group: number }
  | { kind: 'batch'; at: number; date: string; group: number; start: number; size: number };
export const DIGEST_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
export const DIGEST_SCHEDULER_ID = 'digest-tick';
/** BullMQ forbids ":" in job ids. */
export const digestGroupJobId = (at: number, group: number) => `dg-${at}-${group}`;
export const digestBatchJobId = (at: number, group: number, start: number) => `db-${at}-${group}-${start}`;
/** After an outage, the tick catches up on at most this many minutes; older ones are skipped. */
export const DIGEST_CATCH_UP_MS = 60 * 60_000;

/** Registers (or keeps) the every-minute tick; idempotent, so every worker process may call it. */
export async function scheduleDigests(queue: Queue<DigestJob>): Promise<void> {
  await queue.upsertJobScheduler(
    DIGEST_SCHEDULER_ID,
    // A cron pattern, not `every`: BullMQ offsets `every` by the moment of the first upsert, and
    // a digest at 07:30 should leave at 07:30:00, not at 07:30:18.
    { pattern: '0 * * * * *' },
    { name: 'tick', data: { kind: 'tick' }, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
}

/** When the next tick runs (the console shows it); null when no scheduler is registered. */
export async function nextDigestTick(queue: Queue<DigestJob>): Promise<number | null> {
  const s = await queue.getJobScheduler(DIGEST_SCHEDULER_ID);
  return s?.next ?? null;
}

// --- the processor -----------------------------------------------------------------------------

export interface DigestDeps {
  digests: DigestStore;
  subscribers: EmailSubscribers;
  /** An address on the list gets no digest either, whatever its subscription says. */
  suppressions: Suppressions;
  cache: DigestCache;
  transport: MailTransport;
  tokens: TokenSigner;
  log: Logger;
  queue: Queue<DigestJob>;
  baseUrl: string;
  messageIdDomain: string;
  batchSize: number;
  /** Sends in flight per batch. */
  concurrency: number;
}

export function digestProcessor(d: DigestDeps) {
  return async (job: Job<DigestJob>): Promise<Record<string, number>> => {
    const data = job.data;
    if (data.kind === 'tick') return tick(d);
    if (data.kind === 'group') return fanOutGroup(d, { at: data.at, date: data.date, group: data.group });
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    return runBatch(d, data, last);
  };
}

/** Queues a job for each group due in the minutes since the last tick (at most DIGEST_CATCH_UP_MS). */
async function tick(d: DigestDeps): Promise<Record<string, number>> {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const cursor = await d.digests.cursor();
  const from = Math.max(cursor ?? now - 60_000, now - DIGEST_CATCH_UP_MS);
  let queued = 0;
  if (from < now) {
    for (const g of await d.digests.groups()) {
      for (const run of dueRuns(g.timeZone, g.minute, from, now)) {
        await d.queue.add('group', { kind: 'group', ...run, group: g.id }, { jobId: digestGroupJobId(run.at, g.id) });
        queued++;
      }
    }
  }
  // Moved only once the jobs are queued: a tick that dies before is done again by the next one.
  await d.digests.advanceCursor(now);
  return { groups: queued };
}

async function fanOutGroup(d: DigestDeps, g: { at: number; date: string; group: number }): Promise<Record<string, number>> {
  const members = await d.digests.activeMembers(g.group);
  const claimed = await d.digests.claimedDay(g.date);
  const todo = Buffer.alloc(members.length);
  for (let i = 0; i < members.length; i++) todo[i] = members[i] & ~(claimed[i] ?? 0);
  await d.digests.runStarted(g.at, g.group, popcount(todo));
  const blockBytes = d.batchSize / 8;
  const jobs = [];
  for (let off = 0; off < todo.length; off += blockBytes) {
    if (!todo.subarray(off, off + blockBytes).some((b) => b !== 0)) continue;
    const data: DigestJob = { kind: 'batch', at: g.at, date: g.date, group: g.group, start: off * 8, size: d.batchSize };
    jobs.push({ name: 'batch', data, opts: { jobId: digestBatchJobId(g.at, g.group, off * 8) } });
  }
  for (let i = 0; i < jobs.length; i += 200) await d.queue.addBulk(jobs.slice(i, i + 200));
  return { batches: jobs.length };
}

type Tally = Record<'sent' | 'failed' | 'bounced' | 'empty' | 'suppressed' | 'retry' | 'already', number>;

async function runBatch(
  d: DigestDeps,
  b: { at: number; date: string; group: number; start: number; size: number },
  lastAttempt: boolean,
): Promise<Record<string, number>> {
  const fromByte = b.start / 8;
  const { members, active, claimed } = await d.digests.block(b.group, b.date, fromByte, fromByte + b.size / 8 - 1);
  const ids: number[] = [];
  for (let i = 0; i < members.length; i++) {
    const byte = members[i] & (active[i] ?? 0) & ~(claimed[i] ?? 0);
    for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) ids.push(b.start + i * 8 + bit);
  }
  const stories = await d.cache.stories(b.at);
  const subs = [...(await d.subscribers.getMany(ids)).values()].filter((s) => s.status === 'confirmed' && s.digest !== undefined);
  const barred = await d.suppressions.suppressed(subs.map((s) => s.email));
  const readers = subs.filter((s) => !barred.has(s.email));
  const tally: Tally = { sent: 0, failed: 0, bounced: 0, empty: 0, suppressed: 0, retry: 0, already: 0 };
  // Claimed like a send, so the run's figures add up and a replay does not look at them again.
  for (const sub of subs.filter((s) => barred.has(s.email))) {
    if (await d.digests.claim(b.date, sub.id)) {
      await d.digests.record(b.at, 'suppressed', [sub.id]);
      tally.suppressed++;
    }
  }
  const retry: number[] = [];
  let reason = '';
  await pool(readers, d.concurrency, async (sub) => {
    const outcome = await sendOne(d, b, sub, storiesOf(stories, sub.topics));
    tally[outcome.kind]++;
    if (outcome.kind === 'retry') {
      retry.push(sub.id);
      reason = outcome.reason;
    }
  });
  if (retry.length > 0) {
    if (!lastAttempt) throw new Error(`${retry.length} digest(s) to retry: ${reason}`);
    await d.digests.record(b.at, 'failed', retry);
    d.log.error({ at: new Date(b.at).toISOString(), group: b.group, failed: retry.length, reason }, 'digest batch gave up after retries');
  }
  return tally;
}

async function sendOne(
  d: DigestDeps,
  b: { at: number; date: string },
  sub: EmailSubscriber,
  stories: ReturnType<typeof storiesOf>,
): Promise<{ kind: keyof Tally; reason: string }> {
  // The claim comes first, always: from here on this reader's day is spoken for.
  if (!(await d.digests.claim(b.date, sub.id))) return { kind: 'already', reason: '' };
  if (stories.length === 0) {
    await d.digests.record(b.at, 'empty', [sub.id]);
    return { kind: 'empty', reason: '' };
  }
  const to = asciiAddress(sub.email);
  const messageId = `<digest.${b.date}.${sub.id}@${d.messageIdDomain}>`;
  let raw: string;
  try {
    raw = d.cache.message(b.at, stories, sub.lang).forRecipient({ to, messageId, links: emailLinks(d.baseUrl, d.tokens, sub.id) });
  } catch {
    await d.digests.record(b.at, 'failed', [sub.id]);
    return { kind: 'failed', reason: 'address unusable in a header' };
  }
  let outcome: ReturnType<typeof classifySmtpError>;
  try {
    await d.transport.send({ to, raw, messageId });
    outcome = { kind: 'sent' };
  } catch (err) {
    outcome = classifySmtpError(err);
    // A dropped socket or a timeout may come after the server took the message: the day stays
    // claimed (at most one digest), and the reader is counted as failed rather than risk a second.
    if (outcome.kind === 'retry' && !surelyNotSent(err)) outcome = { kind: 'failed', reason: `unknown outcome: ${outcome.reason}` };
  }
  switch (outcome.kind) {
    case 'sent':
      await d.digests.record(b.at, 'sent', [sub.id]);
      return { kind: 'sent', reason: '' };
    case 'expired':
      await d.subscribers.markBounced(sub.id);
      await d.digests.record(b.at, 'bounced', [sub.id]);
      return { kind: 'bounced', reason: '' };
    case 'failed':
      await d.digests.record(b.at, 'failed', [sub.id]);
      return { kind: 'failed', reason: outcome.reason };
    case 'retry':
      // The server did not take it (4xx, no connection): the day is given back for the retry.
      await d.digests.unclaim(b.date, sub.id);
      return { kind: 'retry', reason: outcome.reason };
  }
}

/** A 4xx answer, or no connection at all: the message was certainly not taken. */
function surelyNotSent(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  return (
    (typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 500) ||
    e.code === 'ECONNECTION' ||
    e.code === 'ECONNREFUSED'
  );
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
