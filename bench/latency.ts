// `npm run bench:latency [-- --subscribers 10000 --runs 3]`
// The speed budgets the tests used to assert on a loaded machine, measured here instead, on the
// test stack (API and workers in-process, a real redis-server, the local push service and SMTP
// sink), each run a fresh alert:
// - end to end: publish through the API → the push service and the SMTP sink both have it
//   (one push subscriber, one confirmed email subscriber); target ≤ 2 s;
// - kill switch: during a fan-out to --subscribers, the cancel call → its acknowledgment, and
//   → the last push the push service accepted; target ≤ 1 s for the latter.
// Prints the median of --runs and whether each target is met; run it on an idle machine.
import { parseArgs } from 'node:util';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { startStack, editor, until, type Stack } from '../tests/support/stack';
import { confirmEmail, pushesOf, seedPush, subscribePush } from '../tests/support/newsroom';

const { values: opt } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
  },
});
const N = Number(opt.subscribers);
const RUNS = Number(opt.runs);
if (!(N >= 1000) || !(RUNS >= 1)) throw new Error('usage: --subscribers N (≥ 1000) --runs R (≥ 1)');

const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 0 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const check = (ok: boolean) => (ok ? 'met' : 'NOT met');

async function publish(s: Stack, body: Record<string, unknown>): Promise<{ id: string; at: number }> {
  const at = Date.now();
  const r = await s.api('POST', '/api/alerts', body, editor());
  if (r.status !== 202) throw new Error(`publish answered ${r.status}: ${r.text}`);
  return { id: String(r.json.id), at };
}

/** Publish → both the push service and the SMTP sink have the alert, in ms. */
async function endToEnd(s: Stack, address: string): Promise<number> {
  const { id, at } = await publish(s, { title: 'Mesure de bout en bout', body: 'Texte.', channels: ['push', 'email'] });
  await until(
    async () =>
      pushesOf(s, id).length === 1 &&
      s.smtp.messages.some((m) => (m.headers['message-id'] ?? '').startsWith(`<${id}.`) && m.to.includes(address)),
    60_000,
    5,
  );
  const pushAt = pushesOf(s, id)[0].receivedAt;
  const mailAt = s.smtp.messages.find((m) => (m.headers['message-id'] ?? '').startsWith(`<${id}.`))!.receivedAt;
  await s.delivered(id, 60_000);
  return Math.max(pushAt, mailAt) - at;
}

/** Cancel once a fifth of the fan-out went out: acknowledgment and last accepted push, in ms after the call. */
async function cancel(s: Stack): Promise<{ ackMs: number; lastMs: number; sent: number }> {
  const { id } = await publish(s, { title: 'Mesure du coupe-circuit', body: 'Texte.', channels: ['push'] });
  await until(async () => pushesOf(s, id).length >= N / 5, 120_000, 5);
  const t0 = Date.now();
  const r = await s.api('POST', `/api/alerts/${id}/cancel`, undefined, editor());
  const ackMs = Date.now() - t0;
  if (r.status !== 200) throw new Error(`cancel answered ${r.status}: ${r.text}`);
  await until(async () => s.push.inFlight === 0 && (await s.app.queues.push.getActiveCount()) === 0, 60_000, 20);
  const sent = pushesOf(s, id);
  return { ackMs, lastMs: Math.max(...sent.map((p) => p.receivedAt)) - t0, sent: sent.length };
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  // The same settings as the kill-switch test (tests/workflow-cancel.test.ts).
  const s = await startStack({ PUSH_CONCURRENCY: '32' }, { api: true, worker: true }, { cluster: false });
  try {
    await subscribePush(s);
    await confirmEmail(s, 'mesure@exemple.fr');
    const e2e: number[] = [];
    for (let i = 0; i < RUNS; i++) e2e.push(await endToEnd(s, 'mesure@exemple.fr'));
    // The crowd comes after: the end-to-end alerts reach one push subscriber and one address.
    await seedPush(s, N);
    const cuts: Array<{ ackMs: number; lastMs: number; sent: number }> = [];
    for (let i = 0; i < RUNS; i++) cuts.push(await cancel(s));
    const e2eMs = median(e2e);
    const lastMs = median(cuts.map((c) => c.lastMs));
    process.stdout.write(
      [
        '',
        `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
        `end to end (publish → push and email received), ms: ${e2e.map(fmt).join(', ')}; median ${fmt(e2eMs)}`,
        `kill switch during a ${fmt(N)}-recipient fan-out: acknowledged after ${cuts.map((c) => fmt(c.ackMs)).join(', ')} ms; last push ${cuts.map((c) => fmt(c.lastMs)).join(', ')} ms after the call; ${cuts.map((c) => fmt(c.sent)).join(', ')} sent`,
        '',
        `target end to end ≤ 2 s: ${check(e2eMs <= 2000)} (${fmt(e2eMs)} ms)`,
        `target sending stops ≤ 1 s after the cancel call: ${check(lastMs <= 1000)} (${fmt(lastMs)} ms)`,
        '',
      ].join('\n'),
    );
  } finally {
    await s.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
