// Sends one encrypted message to one push endpoint, through the kept-open client of its origin,
// with the VAPID header signed once per origin. The allowlist is checked again right before
// connecting, not only at subscribe time: it may have shrunk since the subscriber was stored.
// A wildcard entry lets strangers invent origins, so the clients kept open are capped: past the
// cap, the least recently used one is dropped (closed once its requests in flight end).
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { OutgoingHttpHeaders } from 'node:http2';
import { checkEndpoint, namedOrigins, type OriginRule } from './allowlist';
import { encryptPush } from './encrypt';
import { OriginClient, OriginPaused, parseRetryAfter } from './origin-client';
import { classify, refusalReason, type PushService } from './service-kind';

export { parseRetryAfter };
import type { Urgency } from '../model';

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
  /** The VAPID public key the subscription was made with (absent: the current one). */
  vapidKey?: string;
}

/** Signs the VAPID header for an origin with a given key (VapidRing; a VapidCache has one key). */
export interface VapidSigner {
  header(origin: string, publicKey?: string): string;
}

/** The push service's answer, or why we did not even ask. */
export type PushResponse =
  /** reason: the refusal's explanation in the service's terms (service-kind.ts), '' for none. */
  | { status: number; retryAfterMs?: number; protocol: 'h2' | 'http/1.1'; reason: string }
  | { refused: string }
  /** The origin answered 429 a moment ago and asked us to wait this much longer. */
  | { paused: number };

export interface SenderOptions {
  timeoutMs: number;
  /** Requests in flight per push-service origin, per process. */
  maxInFlight: number;
  caFile?: string;
  maxResponseBytes?: number;
  /** Origins this process keeps a client (and its connection) for at once; default 128 (PUSH_MAX_ORIGINS). */
  maxOrigins?: number;
}

const MAX_CACHED_SERVICES = 1024;

/** A client and when it was last asked for (a counter: eviction only needs the order). */
interface Entry {
  client: OriginClient;
  used: number;
}

export class PushSender {
  private readonly clients = new Map<string, Entry>();
  private readonly secureContext: tls.SecureContext;
  private readonly isNamed: (origin: string) => boolean;
  /** serviceOf's answers by the endpoint's start (scheme and authority); cleared when full. */
  private readonly services = new Map<string, PushService>();
  private uses = 0;

  private closed = false;

  constructor(
    private readonly vapid: VapidSigner,
    private readonly rules: readonly OriginRule[],
    private readonly opts: SenderOptions,
  ) {
    // An extra CA is added to the public roots, not substituted for them.
    this.secureContext = tls.createSecureContext(opts.caFile ? { ca: [...tls.rootCertificates, readFileSync(opts.caFile, 'utf8')] } : {});
    this.isNamed = namedOrigins(rules);
  }

  /**
   * Which push service an endpoint belongs to (an allowlist class first, then its host). The
   * answer depends on the host and port only, all within the text before the first "/" after
   * the scheme: cached by that text, so a push parses its endpoint once (in send), not twice.
   * Wildcard entries let strangers invent hosts, so the cache is bounded.
   */
  serviceOf(endpoint: string): PushService {
    const end = endpoint.indexOf('/', 'https://'.length);
    const start = end < 0 ? endpoint : endpoint.slice(0, end);
    let service = this.services.get(start);
    if (service === undefined) {
      service = classify(endpoint, this.rules);
      if (this.services.size >= MAX_CACHED_SERVICES) this.services.clear();
      this.services.set(start, service);
    }
    return service;
  }

  /** How many origins have a client now (never more than maxOrigins). */
  get openOrigins(): number {
    return this.clients.size;
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
      authorization: this.vapid.header(url.origin, msg.vapidKey),
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
    // Only refusals are read: a 2xx body says nothing we use.
    const reason = res.status >= 400 ? refusalReason(classify(url.origin, this.rules), res.body) : '';
    return { status: res.status, protocol: res.protocol, reason, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  /**
   * Connects now, so the first alert finds them open, to those of these origins that the allowlist
   * or the browsers name exactly: never to a host a stranger made up under a wildcard.
   */
  async warm(origins: readonly string[]): Promise<void> {
    const named = [...new Set(origins)].filter(this.isNamed).slice(0, this.maxOrigins);
    await Promise.allSettled(named.map((o) => this.client(o).warm()));
  }

  close(): void {
    this.closed = true;
    for (const e of this.clients.values()) e.client.close();
    this.clients.clear();
  }

  /** For a worker's /health: push-service origins in use, how many have a live connection. */
  sessions(): { origins: number; open: number; closed: boolean } {
    const all = [...this.clients.values()].map((e) => e.client);
    return { origins: all.length, open: all.filter((c) => c.connected).length, closed: this.closed };
  }

  private get maxOrigins(): number {
    return this.opts.maxOrigins ?? 128;
  }

  private client(origin: string): OriginClient {
    const found = this.clients.get(origin);
    if (found) {
      found.used = ++this.uses;
      return found.client;
    }
    if (this.clients.size >= this.maxOrigins) this.evictOldest();
    const client = new OriginClient(origin, {
      timeoutMs: this.opts.timeoutMs,
      maxInFlight: this.opts.maxInFlight,
      maxResponseBytes: this.opts.maxResponseBytes ?? 64 * 1024,
      secureContext: this.secureContext,
    });
    this.clients.set(origin, { client, used: ++this.uses });
    return client;
  }

  /** A scan, not a reordered map: it runs only when a new origin arrives at the cap, not per push. */
  private evictOldest(): void {
    let oldest: [string, Entry] | undefined;
    for (const e of this.clients) if (!oldest || e[1].used < oldest[1].used) oldest = e;
    if (!oldest) return;
    this.clients.delete(oldest[0]);
    oldest[1].client.retire();
  }
}
