// console-during-send: editors' consoles while a big alert goes out. Each console signs in
// (POST /api/session, a session cookie as in the browser), keeps GET /api/events (SSE) open and
// reads the alert it watches (GET /api/alerts/:id) every READ_EVERY_MS. Measured first with no send
// (the same consoles reading the warm-up alert), then during the send: the p99 of the read, and
// the p99 of the interval between two SSE updates of the alert being sent (the feed polls every
// 250 ms: that is the interval with nothing in the way).
import { createParser } from 'eventsource-parser';
import { fmt, now, sleep } from './stack';
import { bigSend, type ScenarioContext } from './send';

const READ_EVERY_MS = 500;
const QUIET_S_MAX = 10;

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};

interface Console {
  cookie: string;
  updates: { id: string; at: number }[];
  stop: AbortController;
}

async function open(base: string, token: string): Promise<Console> {
  const r = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const cookie = /^(dp_session=[^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  if (r.status !== 201 || !cookie) throw new Error(`sign-in answered ${r.status}`);
  const c: Console = { cookie, updates: [], stop: new AbortController() };
  const res = await fetch(`${base}/api/events`, { headers: { cookie }, signal: c.stop.signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET /api/events answered ${res.status}`);
  const parser = createParser({
    onEvent: (ev) => {
      if (ev.event === 'alert') c.updates.push({ id: (JSON.parse(ev.data) as { id: string }).id, at: now() });
    },
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      /* aborted at the end of the run */
    }
  })();
  return c;
}

/** Every console reads `watch()` every READ_EVERY_MS until `until` resolves; the read latencies. */
async function reads(base: string, all: Console[], watch: () => string, until: Promise<unknown>): Promise<number[]> {
  let running = true;
  const out: number[] = [];
  const lanes = all.map(async (c, i) => {
    await sleep((READ_EVERY_MS / all.length) * i); // spread over the period, as real consoles are
    while (running) {
      const t = now();
      const r = await fetch(`${base}/api/alerts/${watch()}`, { headers: { cookie: c.cookie } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`GET /api/alerts/:id answered ${r.status}`);
      out.push(now() - t);
      await sleep(Math.max(0, READ_EVERY_MS - (now() - t)));
    }
  });
  await until;
  running = false;
  await Promise.all(lanes);
  return out;
}

export async function consoles(c: ScenarioContext): Promise<string[]> {
  const { stack, n, o } = c;
  const base = `http://127.0.0.1:${stack.port}`;
  const all = await Promise.all(Array.from({ length: o.consoles }, () => open(base, stack.editorToken)));
  try {
    const warm = stack.lastWarmUp;
    if (!warm) throw new Error('console-during-send needs the warm-up alert (--warmup > 0)');
    const quietS = Math.min(o.durationS, QUIET_S_MAX);
    process.stderr.write(`${o.consoles} consoles, ${quietS} s with no send\n`);
    const quiet = await reads(base, all, () => warm, sleep(quietS * 1000));
    let watching = warm;
    const send = await bigSend(stack, 'bench-consoles', n);
    watching = send.id;
    const during = await reads(base, all, () => watching, send.done);
    const { seconds } = await send.done;
    // Gaps between two updates of the sent alert, per console, from its first update to its last.
    const gaps = all.flatMap((k) => {
      const at = k.updates.filter((u) => u.id === send.id).map((u) => u.at);
      return at.slice(1).map((t, i) => t - at[i]);
    });
    const firstUpdate = Math.min(...all.map((k) => k.updates.find((u) => u.id === send.id)?.at ?? Infinity)) - send.tCall;
    const readP99 = pct(during, 0.99);
    const gapP99 = pct(gaps, 0.99);
    return [
      `${o.consoles} consoles signed in (session cookie), each with GET /api/events open and GET /api/alerts/:id every ${READ_EVERY_MS} ms`,
      `GET /api/alerts/:id with no send (${quietS} s, ${fmt(quiet.length)} reads): p50 ${fmt(pct(quiet, 0.5), 1)} ms, p99 ${fmt(pct(quiet, 0.99), 1)} ms`,
      `GET /api/alerts/:id during the send to ${fmt(n)} (${fmt(seconds, 1)} s, ${fmt(during.length)} reads): p50 ${fmt(pct(during, 0.5), 1)} ms, p99 ${fmt(readP99, 1)} ms, max ${fmt(Math.max(...during), 1)} ms`,
      `SSE updates of the sent alert: first ${fmt(firstUpdate)} ms after the publish call; interval p50 ${fmt(pct(gaps, 0.5))} ms, p99 ${fmt(gapP99)} ms, max ${fmt(Math.max(...gaps))} ms over ${fmt(gaps.length)} intervals (no-load interval: the feed's 250 ms poll)`,
      // Issue 18 sets no target for these two: the figures, against the no-load ones above.
      `p99 of GET /api/alerts/:id during the send: ${fmt(readP99, 1)} ms; p99 of the SSE update interval: ${fmt(gapP99)} ms`,
    ];
  } finally {
    for (const k of all) k.stop.abort();
  }
}
