// Sends one encrypted message to one push endpoint, through the kept-open client of its origin,
// with the VAPID header signed once per origin. The allowlist is checked again right before
// connecting, not only at subscribe time: it may have shrunk since the subscriber was stored.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { OutgoingHttpHeaders } from 'node:http2';
import { checkEndpoint, endpointProblem, type OriginRule } from './allowlist';
import { encryptPush } from './encrypt';
import { OriginClient, OriginPaused, parseRetryAfter } from './origin-client';

export { parseRetryAfter };
import type { VapidCache } from './vapid';
import type { Urgency } from '../store/alerts';

export interface PushMessage {
  endpoint: string;
  p256dh: Buffer;
  auth: Buffer;
  /** UTF-8 JSON, already within the plaintext limit. */
  plaintext: Buffer;
  ttlSeconds: number;
  urgency: Urgency;
  /** RFC 8030 Topic: a newer message with the same topic replaces one still pending. */
  topic?: string;
}

/** The push service's answer, or why we did not even ask. */
export type PushResponse =
  | { status: number; retryAfterMs?: number; protocol: 'h2' | 'http/1.1' }
  | { refused: string }
  /** The origin answered 429 a moment ago and asked us to wait this much longer. */
  | { paused: number };


export interface SenderOptions {
  timeoutMs: number;
  /** Requests in flight per push-service origin, per process. */
  maxInFlight: number;
  caFile?: string;
  maxResponseBytes?: number;
}

export class PushSender {
  private readonly clients = new Map<string, OriginClient>();
  private readonly secureContext: tls.SecureContext;

  private closed = false;

  constructor(private readonly vapid: VapidCache, private readonly rules: readonly OriginRule[], private readonly opts: SenderOptions) {
    // An extra CA is added to the public roots, not substituted for them.
    this.secureContext = tls.createSecureContext(opts.caFile ? { ca: [...tls.rootCertificates, readFileSync(opts.caFile, 'utf8')] } : {});
  }

  async send(msg: PushMessage): Promise<PushResponse> {
    // Checked again here, not only at subscribe time: the allowlist may have shrunk since.
    const checked = checkEndpoint(msg.endpoint, this.rules);
    if ('problem' in checked) return { refused: `endpoint ${checked.problem}` };
    const { url } = checked;
    // After a 429, every batch of this process holds off that origin, not only the one that got it.
    const client = this.client(url.origin);
    const paused = client.pausedFor();
    if (paused > 0) return { paused };
    const body = encryptPush(msg.p256dh, msg.auth, msg.plaintext);
    const headers: OutgoingHttpHeaders = {
      authorization: this.vapid.header(url.origin),
      ttl: String(msg.ttlSeconds),
      urgency: msg.urgency,
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
    };
    if (msg.topic) headers.topic = msg.topic;
    let res;
    try {
      res = await client.post(url.pathname + url.search, headers, body);
    } catch (err) {
      if (err instanceof OriginPaused) return { paused: err.ms };
      throw err;
    }
    const retryAfterMs = parseRetryAfter(res.retryAfter);
    return { status: res.status, protocol: res.protocol, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  /** Connects to these origins now (those on the allowlist), so the first alert finds them open. */
  async warm(origins: readonly string[]): Promise<void> {
    const allowed = origins.filter((o) => endpointProblem(`${o}/`, this.rules) === null);
    await Promise.allSettled(allowed.map((o) => this.client(o).warm()));
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** For a worker's /health: push-service origins in use, how many have a live connection. */
  sessions(): { origins: number; open: number; closed: boolean } {
    const all = [...this.clients.values()];
    return { origins: all.length, open: all.filter((c) => c.connected).length, closed: this.closed };
  }

  private client(origin: string): OriginClient {
    let c = this.clients.get(origin);
    if (!c) {
      c = new OriginClient(origin, {
        timeoutMs: this.opts.timeoutMs,
        maxInFlight: this.opts.maxInFlight,
        maxResponseBytes: this.opts.maxResponseBytes ?? 64 * 1024,
        secureContext: this.secureContext,
      });
      this.clients.set(origin, c);
    }
    return c;
  }
}
