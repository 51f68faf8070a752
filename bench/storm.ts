// subscribe-storm: readers flood POST /api/subscriptions/push (autocannon, in this process), first
// with nothing else going on, then while a big alert goes out to every subscriber. Every request is
// a new subscription (its own FCM-shaped endpoint on the bench push service, a pooled key pair),
// so each one creates a subscriber as a real reader's would.
import autocannon from 'autocannon';
import { token } from './subscribers';
import { check, fmt, now } from './stack';
import { bigSend, type ScenarioContext } from './send';

const CONNECTIONS = 32;

interface Phase {
  perSecond: number;
  p50: number;
  p99: number;
  ok: number;
  other: number;
  errors: number;
}

async function load(c: ScenarioContext, label: string): Promise<Phase> {
  const { stack } = c;
  let k = 0;
  process.stderr.write(`${label}: ${c.o.durationS} s of POST /api/subscriptions/push, ${CONNECTIONS} connections\n`);
  const r = await autocannon({
    url: `http://127.0.0.1:${stack.port}`,
    connections: CONNECTIONS,
    duration: c.o.durationS,
    requests: [
      {
        method: 'POST',
        path: '/api/subscriptions/push',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => {
          const i = k++ % stack.pool.length;
          const key = stack.pool[i];
          const subscription = { endpoint: `${stack.push.origin}/fcm/send/${token(i)}`, keys: { p256dh: key.publicKey, auth: key.auth } };
          return { ...req, body: JSON.stringify({ subscription }) };
        },
      },
    ],
  });
  return {
    perSecond: r['2xx'] / (r.duration || c.o.durationS),
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok: r['2xx'],
    other: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

const line = (name: string, p: Phase) =>
  `${name}: ${fmt(p.perSecond)} subscribes/s, latency p50 ${fmt(p.p50, 1)} ms, p99 ${fmt(p.p99, 1)} ms (${fmt(p.ok)} × 201${p.other ? `, ${fmt(p.other)} other answers` : ''}${p.errors ? `, ${fmt(p.errors)} errors` : ''})`;

export async function storm(c: ScenarioContext): Promise<string[]> {
  const alone = await load(c, 'alone');
  const send = await bigSend(c.stack, 'bench-pendant-inscriptions', c.n);
  const t0 = now();
  const during = await load(c, 'during the send');
  const tLoadEnd = now();
  const { seconds } = await send.done;
  // A small send may end before the load does: say how much of the load it overlapped.
  const sendEnd = send.tCall + seconds * 1000;
  const overlap = Math.max(0, Math.min(1, (sendEnd - t0) / (tLoadEnd - t0)));
  return [
    `load: autocannon, ${CONNECTIONS} connections, ${c.o.durationS} s per phase, a new subscription per request; SUBSCRIBE_RATE_LIMIT set to 1,000,000,000 (the limiter still counts every request in Redis, never refuses)`,
    line('alone', alone),
    line(`during a send to ${fmt(c.n)}`, during),
    `the send took ${fmt(seconds, 1)} s and covered ${fmt(overlap * 100)} % of the loaded period`,
    '',
    `target ≥ 2,000 subscribes/s alone: ${check(alone.perSecond >= 2000)} (${fmt(alone.perSecond)}/s)`,
    `target p99 ≤ 50 ms alone: ${check(alone.p99 <= 50)} (${fmt(alone.p99, 1)} ms)`,
    `target p99 ≤ 200 ms during the send: ${check(during.p99 <= 200)} (${fmt(during.p99, 1)} ms)`,
  ];
}
