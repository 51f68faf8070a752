// Sends one encrypted message to one push endpoint. Connections are kept open per origin, at
// most `concurrency` requests per origin are in flight, each request has a total deadline and a
// cap on the response size, and redirects are never followed (a 3xx is just a failure).
import https from 'node:https';
import { readFileSync } from 'node:fs';
import webpush from 'web-push';
import { endpointProblem, type OriginRule } from './allowlist';
import type { VapidCache } from './vapid';

export interface PushMessage {
  endpoint: string;
  origin: string;
  p256dh: Buffer;
  auth: Buffer;
  payload: string;
  ttlSeconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  topic?: string;
}

export interface PushResponse { status: number; retryAfterMs?: number }

const MAX_RESPONSE_BYTES = 64 * 1024;

export class PushSender {
  private readonly agent: https.Agent;

  constructor(
    private readonly vapid: VapidCache,
    private readonly rules: readonly OriginRule[],
    private readonly opts: { timeoutMs: number; concurrency: number; caFile?: string },
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: opts.concurrency,
      ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
    });
  }

  async send(msg: PushMessage): Promise<PushResponse> {
    // Checked again here, not only at subscribe time: the allowlist may have shrunk since.
    if (endpointProblem(msg.endpoint, this.rules)) return { status: 400 };
    const { cipherText } = webpush.encrypt(msg.p256dh.toString('base64url'), msg.auth.toString('base64url'), msg.payload, 'aes128gcm');
    const headers: Record<string, string | number> = {
      Authorization: this.vapid.header(msg.origin),
      TTL: msg.ttlSeconds,
      Urgency: msg.urgency,
      'Content-Encoding': 'aes128gcm',
      'Content-Type': 'application/octet-stream',
      'Content-Length': cipherText.length,
    };
    if (msg.topic) headers.Topic = msg.topic;
    return new Promise<PushResponse>((resolve, reject) => {
      const req = https.request(msg.endpoint, { method: 'POST', headers, agent: this.agent }, (res) => {
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('push service response too large'));
        });
        res.on('end', () => {
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          resolve({ status, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
        });
        res.on('error', (e) => { clearTimeout(timer); reject(e); });
      });
      const timer = setTimeout(() => req.destroy(new Error('push request deadline exceeded')), this.opts.timeoutMs);
      req.on('error', (e) => { clearTimeout(timer); reject(e); });
      req.end(cipherText);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
