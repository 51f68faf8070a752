// What the scenarios share: their options, and one big alert to every subscriber followed to its
// last 201 at the bench push service, told apart from other alerts by its RFC 8030 Topic header.
import type { ChildProcess } from 'node:child_process';
import type { BenchStack } from './stack';
import { fmt, now, sleep } from './stack';
import { Progress } from './progress';
import { replacementKey } from '../src/push/payload';

export interface ScenarioOptions {
  /** Undefined: the scenario's own default (200,000). */
  subscribers: number | undefined;
  workers: number;
  warmup: number;
  decryptEvery: number;
  set: readonly string[];
  profile: string | undefined;
  durationS: number;
  consoles: number;
}

export interface ScenarioContext {
  stack: BenchStack;
  n: number;
  workers: ChildProcess;
  o: ScenarioOptions;
}

const BIG = {
  title: '« Cessez-le-feu » au Haut-Karabakh',
  body: 'Les combats ont cessé ce matin, selon les deux camps. Les négociations reprennent à Genève.',
  url: 'https://www.exemple.fr/monde/haut-karabakh',
  channels: ['push'],
};

/** One big alert to everyone, timed at the push service by its Topic header. */
export interface Send {
  id: string;
  topic: string;
  tCall: number;
  /** Resolves when every subscriber has it; `during` runs while it goes out. */
  done: Promise<{ seconds: number }>;
}

/** Publishes the big alert (story `story`) and follows it to the last 201; `onTick` sees the progress. */
export async function bigSend(stack: BenchStack, story: string, n: number, onTick?: (accepted: number) => Promise<void>): Promise<Send> {
  const tCall = now();
  const pub = await stack.api('POST', '/api/alerts', { ...BIG, title: `${BIG.title} (${story})`, story });
  if (pub.status !== 202) throw new Error(`publish answered ${pub.status}: ${JSON.stringify(pub.json)}`);
  const id = String(pub.json.id);
  const topic = replacementKey({ id, story });
  const bar = new Progress(story, n);
  const follow = async () => {
    let last = -1;
    let lastMove = now();
    for (;;) {
      const per = (await stack.push.stats()).byTopic[topic] as { accepted: number; lastAt: number } | undefined;
      const accepted = per?.accepted ?? 0;
      if (onTick) await onTick(accepted);
      if (per && accepted >= n) {
        bar.done();
        return { seconds: (per.lastAt - tCall) / 1000 };
      }
      if (accepted !== last) [last, lastMove] = [accepted, now()];
      if (now() - lastMove > 60_000) throw new Error(`${story} stalled at ${accepted}/${n}`);
      bar.update(accepted, `${fmt(accepted / ((now() - tCall) / 1000))}/s`);
      await sleep(10);
    }
  };
  return { id, topic, tCall, done: follow() };
}
