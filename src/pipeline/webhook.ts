// One signed webhook delivery: a job per (event, endpoint). The body is the event as JSON, signed
// the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
// HMAC-SHA256 of id.timestamp.body>` with the endpoint's `whsec_` secret), re-signed at each
// attempt with the attempt's time. A 2xx is a success; anything else, or no answer, is retried
// with a doubling backoff. Every attempt is logged on the endpoint; an endpoint that has answered
// nothing but failures for WEBHOOK_DISABLE_AFTER is disabled and its pending jobs end quietly.
// Only ids travel in the job: the secret stays in Redis, an address is read at send time.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import type { Webhooks, WebhookEndpoint } from '../store/webhooks';
import type { EmailSubscribers } from '../store/email-subscribers';
import type { Logger } from '../log';
import { resolveTarget, type Target } from './webhook-target';

export const WEBHOOK_QUEUE = 'webhook';

/** The event as it is sent: `data` never holds an address (added at send time when asked). */
export interface WebhookMessage {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}
export interface WebhookJob {
  endpointId: string;
  message: WebhookMessage;
}

/** 12 attempts, from WEBHOOK_RETRY_DELAY doubling up to an hour apart: about 3.5 hours at the defaults. */
export const WEBHOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'webhook' },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
};
const MAX_RETRY_DELAY_MS = 3_600_000;
/** The start of an answer kept in the delivery log; the rest is read and dropped. */
const RESPONSE_KEPT = 256;
const RESPONSE_READ_MAX = 64 * 1024;

/** The delay before attempt n+1: base × 2^(n-1), ±20 %, capped at an hour. */
export const webhookBackoff = (baseMs: number) => (attemptsMade: number) => {
  const d = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(d * (0.8 + Math.random() * 0.4));
};

/** One job per endpoint; the job id makes a repeated emit of the same fact a no-op while it is kept. */
export async function enqueueWebhook(queue: Queue<WebhookJob>, endpointIds: readonly string[], message: WebhookMessage): Promise<void> {
  await queue.addBulk(
    endpointIds.map((endpointId) => ({
      name: message.type,
      data: { endpointId, message },
      opts: { jobId: `${message.id}-${endpointId}` },
    })),
  );
}

export interface WebhookDeps {
  webhooks: Webhooks;
  emailSubscribers: EmailSubscribers;
  log: Logger;
  allowPrivate: boolean;
  disableAfterMs: number;
  timeoutMs: number;
  tlsCaFile?: string;
}

interface Answer {
  status: number;
  response?: string;
  error?: string;
}

export function webhookProcessor(d: WebhookDeps) {
  // Our extra CA (tests, private deployments) is added to the public roots, not put in their place.
  const ca = d.tlsCaFile ? [...rootCertificates, readFileSync(d.tlsCaFile, 'utf8')] : undefined;
  return async (job: Job<WebhookJob>): Promise<string> => {
    const { endpointId, message } = job.data;
    const found = await d.webhooks.withSecret(endpointId);
    if (!found) return 'endpoint deleted';
    if (!found.endpoint.enabled) return 'endpoint disabled';
    const body = JSON.stringify(await withAddresses(d, found.endpoint, message));
    const now = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'depeche-webhooks/1',
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(found.secret).sign(message.id, now, body),
    };
    const started = Date.now();
    let answer: Answer;
    try {
      // Resolved and checked again at each attempt, and the connection goes to the checked address.
      const target = await resolveTarget(found.endpoint.url, d.allowPrivate);
      answer = await post(target, headers, body, d.timeoutMs, ca);
    } catch (err) {
      answer = { status: 0, error: err instanceof Error ? err.message : String(err) };
    }
    const ok = answer.status >= 200 && answer.status < 300;
    await d.webhooks.log(endpointId, {
      at: now.toISOString(),
      eventId: message.id,
      type: message.type,
      attempt: job.attemptsMade + 1,
      status: answer.status,
      ok,
      durationMs: Date.now() - started,
      ...(answer.error ? { error: answer.error } : {}),
      ...(answer.response ? { response: answer.response } : {}),
    });
    if (ok) {
      await d.webhooks.succeeded(endpointId);
      return 'delivered';
    }
    if (await d.webhooks.failed(endpointId, d.disableAfterMs)) {
      d.log.warn({ endpointId, failingForMs: d.disableAfterMs }, 'webhook endpoint disabled: failing for WEBHOOK_DISABLE_AFTER');
      throw new UnrecoverableError('endpoint disabled after failing for WEBHOOK_DISABLE_AFTER');
    }
    throw new Error(answer.status ? `endpoint answered ${answer.status}` : `no answer: ${answer.error ?? 'unknown'}`);
  };
}

/** Subscriber events name the address only for endpoints that opted in, read now from the record. */
async function withAddresses(d: WebhookDeps, endpoint: WebhookEndpoint, message: WebhookMessage): Promise<WebhookMessage> {
  const { id, type, timestamp, data } = message;
  const envelope = { id, type, timestamp, data };
  if (!endpoint.includeAddresses || !type.startsWith('subscriber.') || data.channel !== 'email') return envelope;
  const sub = await d.emailSubscribers.get(Number(data.subscriberId));
  return sub ? { ...envelope, data: { ...data, email: sub.email } } : envelope;
}

function post(target: Target, headers: Record<string, string>, body: string, timeoutMs: number, ca?: string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.address,
        port: target.url.port || 443,
        path: `${target.url.pathname}${target.url.search}`,
        method: 'POST',
        headers: { ...headers, host: target.url.host, 'content-length': String(Buffer.byteLength(body)) },
        ...(target.servername ? { servername: target.servername } : {}),
        ...(ca ? { ca } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= RESPONSE_READ_MAX) chunks.push(c);
          else res.destroy();
        });
        const done = () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_KEPT);
          resolve({ status: res.statusCode ?? 0, ...(text ? { response: text } : {}) });
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    // One deadline for everything: connection, TLS, the answer and its body.
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
