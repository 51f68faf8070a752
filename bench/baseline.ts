// The plain baseline, in its own process: web-push's sendNotification in a loop, 100 requests in
// flight, over node's keep-alive HTTPS agent, to the same push service and the same subscribers.
// This is what a newsroom would write first; dépêche is measured against it in the same run.
import https from 'node:https';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import webpush from 'web-push';

export interface BaselineJob {
  file: string;
  count: number;
  caFile: string;
  payload: string;
  vapid: { subject: string; publicKey: string; privateKey: string };
}
export interface BaselineResult {
  sent: number;
  failed: number;
  startAt: number;
  endAt: number;
  cpuMs: number;
  firstError?: string;
}

const IN_FLIGHT = 100;
const now = () => performance.timeOrigin + performance.now();

async function main(job: BaselineJob): Promise<BaselineResult> {
  const subs: webpush.PushSubscription[] = [];
  for await (const line of createInterface({ input: createReadStream(job.file) })) {
    if (subs.length >= job.count) break;
    subs.push((JSON.parse(line) as { subscription: webpush.PushSubscription }).subscription);
  }
  const agent = new https.Agent({ keepAlive: true, maxSockets: IN_FLIGHT, ca: readFileSync(job.caFile, 'utf8') });
  const cpu0 = process.cpuUsage();
  const result: BaselineResult = { sent: 0, failed: 0, startAt: now(), endAt: 0, cpuMs: 0 };
  let next = 0;
  const lane = async () => {
    while (next < subs.length) {
      const sub = subs[next++];
      try {
        await webpush.sendNotification(sub, job.payload, { vapidDetails: job.vapid, TTL: 14400, urgency: 'high', agent });
        result.sent++;
      } catch (err) {
        result.failed++;
        result.firstError ??= (err as Error).message;
      }
      if ((result.sent + result.failed) % 500 === 0) process.send!({ kind: 'progress', done: result.sent + result.failed });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  result.endAt = now();
  const cpu = process.cpuUsage(cpu0);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  agent.destroy();
  return result;
}

process.once('message', (job: BaselineJob) => {
  main(job).then(
    (r) => {
      process.send!({ kind: 'done', result: r }, () => process.exit(0));
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
});
