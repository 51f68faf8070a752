// `npm run bench -- --scenario NAME`: the benchmarks of issue 18, each on the bench stack
// (stack.ts) and each printing the machine's load and its own no-load figure from the same run.
// - flash-during-send: a big alert to everyone, then at 30 % a flash to a topic of 100 readers;
// - subscribe-storm: POST /api/subscriptions/push under autocannon, alone and during a send;
// - console-during-send: 20 signed-in consoles (SSE) reading an alert during a send.
import { BenchStack, check, fmt, machineLine, now, sleep } from './stack';
import { bigSend, type ScenarioContext, type ScenarioOptions } from './send';
import { storm } from './storm';
import { consoles } from './consoles';
import { replacementKey } from '../src/push/payload';

const FLASH_TOPIC = 'bench-flash';
const FLASH_AUDIENCE = 100;

async function flashDuringSend({ stack, n }: ScenarioContext): Promise<string[]> {
  const alone = await (await bigSend(stack, 'bench-seul', n)).done;
  let flash: { id: string; topic: string; tCall: number; tReturned: number; at: number } | undefined;
  const big = await bigSend(stack, 'bench-avec-flash', n, async (accepted) => {
    if (flash || accepted < 0.3 * n) return;
    const tCall = now();
    const story = 'bench-flash';
    const pub = await stack.api('POST', '/api/alerts', {
      title: 'Flash : au moins 32 morts dans un bombardement',
      body: 'Bilan provisoire.',
      topics: [FLASH_TOPIC],
      urgency: 'high',
      flash: true,
      story,
      channels: ['push'],
    });
    if (pub.status !== 202) throw new Error(`flash publish answered ${pub.status}: ${JSON.stringify(pub.json)}`);
    flash = { id: String(pub.json.id), topic: replacementKey({ id: String(pub.json.id), story }), tCall, tReturned: now(), at: accepted };
  });
  const withFlash = await big.done;
  if (!flash) throw new Error('the flash was never published');
  const f = flash;
  let per = (await stack.push.stats()).byTopic[f.topic];
  for (let i = 0; (per?.accepted ?? 0) < FLASH_AUDIENCE; i++) {
    if (i > 6000) throw new Error(`the flash reached ${per?.accepted ?? 0}/${FLASH_AUDIENCE}`);
    await sleep(10);
    per = (await stack.push.stats()).byTopic[f.topic];
  }
  // The figures mean something only if the flash went to its topic's readers and no one else (a
  // reader with no topic gets every alert: subscribers.ts gives every bench reader a topic here).
  const view = await stack.api('GET', `/api/alerts/${f.id}`);
  const targeted = (view.json.delivery as Record<string, { targeted?: number } | undefined> | undefined)?.push?.targeted;
  if (targeted !== FLASH_AUDIENCE || per.accepted !== FLASH_AUDIENCE) {
    throw new Error(`the flash was meant for ${FLASH_AUDIENCE} readers: targeted ${targeted ?? '?'}, accepted ${per.accepted}`);
  }
  const firstMs = per.firstAt - f.tCall;
  const lastMs = per.lastAt - f.tCall;
  return [
    `big alert to ${fmt(n)}, alone: ${fmt(alone.seconds, 1)} s (${fmt(n / alone.seconds)} pushes/s)`,
    `big alert to ${fmt(n)}, with the flash: ${fmt(withFlash.seconds, 1)} s (${fmt(n / withFlash.seconds)} pushes/s), ${fmt(((withFlash.seconds - alone.seconds) / alone.seconds) * 100, 1)} % against alone`,
    `flash to ${FLASH_AUDIENCE} (topic ${FLASH_TOPIC}), published at ${fmt((f.at / n) * 100, 1)} % of the big alert; the publish call took ${fmt(f.tReturned - f.tCall, 1)} ms`,
    `flash, from its publish call: first push ${fmt(firstMs, 1)} ms, last push ${fmt(lastMs, 1)} ms (the push service's 201s)`,
    '',
    `target flash first push ≤ 100 ms: ${check(firstMs <= 100)} (${fmt(firstMs, 1)} ms)`,
    `target flash last push ≤ 1 s: ${check(lastMs <= 1000)} (${fmt(lastMs, 1)} ms)`,
  ];
}

export const SCENARIOS: Record<string, { run: (c: ScenarioContext) => Promise<string[]>; set?: string[]; flashTopic?: boolean }> = {
  'flash-during-send': { run: flashDuringSend, flashTopic: true },
  // The per-address limit stays on (its Redis count is part of every subscribe) but this high it
  // never refuses: the load comes from one address, and would otherwise measure the limiter's 429s.
  'subscribe-storm': { run: storm, set: ['SUBSCRIBE_RATE_LIMIT=1000000000'] },
  'console-during-send': { run: consoles },
};

export async function runScenario(name: string, o: ScenarioOptions): Promise<void> {
  const sc = SCENARIOS[name];
  const n = o.subscribers ?? 200_000;
  const loadBefore = machineLine();
  const stack = await BenchStack.start({
    subscribers: n,
    decryptEvery: o.decryptEvery,
    warmup: o.warmup,
    set: [...(sc.set ?? []), ...o.set],
    ...(sc.flashTopic ? { extraTopic: { slug: FLASH_TOPIC, every: Math.floor(n / FLASH_AUDIENCE), count: FLASH_AUDIENCE } } : {}),
  });
  try {
    await stack.importAll();
    const workers = await stack.startWorkers(o.workers, o.profile);
    await stack.warmUp();
    const lines = await sc.run({ stack, n, workers, o });
    process.stdout.write(
      [
        '',
        `scenario ${name}: ${fmt(n)} subscribers, ${o.workers} worker process${o.workers > 1 ? 'es' : ''}`,
        `machine before: ${loadBefore}`,
        `machine after:  ${machineLine()}`,
        '',
        ...lines,
        '',
      ].join('\n'),
    );
  } finally {
    await stack.stop();
  }
}
