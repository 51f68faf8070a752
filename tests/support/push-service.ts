import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { makeSelfSignedCert } from './certs';
import { asStatus, BehaviourBook, type BehaviourSetting, deliversMessage, perform } from './push-behaviour';
import { decryptAes128gcm, type UaKeys } from './push-crypto';
import { type VapidClaims, verifyVapid } from './vapid';
import { CountWaiter, within } from './wait';

export type { BehaviourSetting, PushBehaviour } from './push-behaviour';

/** What the browser would hand to the application server (PushSubscription.toJSON()). */
export interface TestSubscriber {
  id: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  subscriberId: string;
  endpoint: string;
  /** Decrypted body as UTF-8. */
  payload: string;
  json(): unknown;
  headers: { ttl: number; urgency?: string; topic?: string; contentEncoding: string };
  httpVersion: '2.0' | '1.1';
  vapid: VapidClaims;
  receivedAt: number;
}

export interface PushRejection {
  reason: string;
  status: number;
  subscriberId?: string;
  /** Date.now() when it was answered. */
  at: number;
}

export interface PushServiceOptions {
  /** Largest accepted encrypted body; RFC 8030 services must take at least 4096. */
  maxBodyBytes?: number;
  /** Offer only HTTP/1.1 in ALPN, like a service without h2 (default: h2 and HTTP/1.1). */
  http1Only?: boolean;
  /** The VAPID public key (base64url) new subscriptions are made with; see applicationServerKey. */
  applicationServerKey?: string;
}

// Key under which the global behaviour lives in the book; cannot collide with hex ids.
const DEFAULT_KEY = '*';

export class PushService {
  readonly messages: ReceivedPush[] = [];
  readonly rejections: PushRejection[] = [];
  /** Every request seen, including rejected and misbehaved ones. */
  requests = 0;
  /** Most requests in flight at the same time. */
  maxConcurrent = 0;
  /** TLS connections accepted (each HTTP/2 session or HTTP/1.1 keep-alive connection). */
  sessions = 0;
  /** The host name each accepted connection asked for (TLS SNI); '' when it gave none (an IP address). */
  readonly serverNames: string[] = [];
  origin = '';
  readonly ca: string;

  /** Requests currently open (hanging and trickling ones included). */
  inFlight = 0;
  /**
   * The application server's VAPID public key (base64url) that newSubscriber() makes subscriptions
   * with, as a page passes it to pushManager.subscribe(). Every push to a subscription must then
   * carry that key in `k=`. The test stacks set it to the service's key.
   */
  applicationServerKey: string | undefined;
  private readonly server: Http2SecureServer | HttpsServer;
  private readonly subscribers = new Map<string, UaKeys & { endpoint: string; applicationServerKey?: string }>();
  private readonly behaviours = new BehaviourBook();
  private readonly sockets = new Set<TLSSocket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiter = new CountWaiter(
    'push service messages',
    () => this.messages.length,
    () =>
      'recent rejections: ' +
      (this.rejections
        .slice(-3)
        .map((r) => `${r.status} ${r.reason}`)
        .join('; ') || 'none'),
  );
  private readonly maxBodyBytes: number;

  constructor(opts: PushServiceOptions = {}) {
    const { key, cert } = makeSelfSignedCert();
    this.ca = cert;
    this.maxBodyBytes = opts.maxBodyBytes ?? 4096;
    this.applicationServerKey = opts.applicationServerKey;
    const handler = (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req, res);
    // The HTTP/1.1 request and response objects offer the same members the handler uses.
    this.server = opts.http1Only
      ? createHttpsServer({ key, cert, ALPNProtocols: ['http/1.1'] }, handler as unknown as Parameters<typeof createHttpsServer>[1])
      : createSecureServer({ allowHTTP1: true, key, cert }, handler);
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.sessions++;
      this.serverNames.push(typeof socket.servername === 'string' ? socket.servername : '');
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** TLS connections open now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * A browser's subscription on this service, bound to `applicationServerKey` (default: the
   * service-wide one); under `host` (a name under .localhost, which localhost-names.ts resolves
   * to this machine) instead of 127.0.0.1 when given.
   */
  newSubscriber(opts: { host?: string; applicationServerKey?: string } = {}): TestSubscriber {
    const { host, applicationServerKey = this.applicationServerKey } = opts;
    const id = randomBytes(12).toString('hex');
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys();
    const auth = randomBytes(16);
    const endpoint = host ? `https://${host}:${new URL(this.origin).port}/push/${id}` : `${this.origin}/push/${id}`;
    this.subscribers.set(id, { ecdh, publicKey, auth, endpoint, applicationServerKey });
    return { id, endpoint, keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') } };
  }

  /** Override how one subscriber's endpoint answers; null restores normal delivery. */
  setBehaviour(endpointOrId: string, b: BehaviourSetting): void {
    this.behaviours.set(endpointOrId.split('/').pop() ?? endpointOrId, b);
  }

  /** Behaviour for subscribers without their own override; null restores normal delivery. */
  setDefaultBehaviour(b: BehaviourSetting): void {
    this.behaviours.set(DEFAULT_KEY, b);
  }

  /** Resolves once at least n messages were delivered; rejects after timeoutMs. */
  waitFor(n: number, timeoutMs = 5000): Promise<void> {
    return this.waiter.wait(n, timeoutMs);
  }

  /** Forget recorded traffic and behaviours; subscribers stay valid. */
  reset(): void {
    this.messages.length = 0;
    this.rejections.length = 0;
    this.requests = 0;
    this.maxConcurrent = this.inFlight;
    this.sessions = 0;
    this.serverNames.length = 0;
    this.behaviours.clear();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Hanging and trickling streams would otherwise keep the server open forever.
    for (const s of this.sockets) s.destroy();
    await within(closed, 10_000, 'push service to close');
  }

  private onRequest(req: Http2ServerRequest, res: Http2ServerResponse): void {
    this.requests++;
    this.inFlight++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.inFlight);
    res.on('close', () => this.inFlight--);
    const chunks: Buffer[] = [];
    let size = 0;
    // Keep reading past the limit (without storing) so the client can finish sending and see the 413.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= this.maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => this.handle(req, res, Buffer.concat(chunks), size));
  }

  private reject(res: Http2ServerResponse, status: number, reason: string, subscriberId?: string): void {
    this.rejections.push({ reason, status, subscriberId, at: Date.now() });
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(reason);
  }

  private handle(req: Http2ServerRequest, res: Http2ServerResponse, body: Buffer, size: number): void {
    const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    if (!id) return this.reject(res, 404, `no route for ${req.url}`);
    if (req.method !== 'POST') return this.reject(res, 405, `method ${req.method}`, id);
    const sub = this.subscribers.get(id);
    if (!sub) return this.reject(res, 404, 'unknown subscriber', id);

    const behaviour = this.behaviours.has(id) ? this.behaviours.take(id) : this.behaviours.take(DEFAULT_KEY);
    if (behaviour && !deliversMessage(behaviour)) {
      const forced = asStatus(behaviour);
      if (forced) this.rejections.push({ reason: 'forced by behaviour', status: forced.status, subscriberId: id, at: Date.now() });
      return perform(res, behaviour, this.timers);
    }

    // Browsers that require a key (Chrome) never make a subscription without one: nothing may reach it.
    if (sub.applicationServerKey === undefined) return this.reject(res, 403, 'subscription made without an applicationServerKey', id);
    const vapid = verifyVapid(header(req, 'authorization'), this.audience(req), sub.applicationServerKey);
    if (!vapid.ok) return this.reject(res, 403, vapid.reason, id);
    const ttlText = header(req, 'ttl');
    if (ttlText === undefined) return this.reject(res, 400, 'missing TTL header', id);
    if (!/^\d+$/.test(ttlText)) return this.reject(res, 400, `bad TTL ${ttlText}`, id);
    const contentEncoding = header(req, 'content-encoding') ?? '';
    if (contentEncoding.toLowerCase() !== 'aes128gcm') {
      return this.reject(res, 415, `Content-Encoding ${contentEncoding || '(none)'} is not aes128gcm`, id);
    }
    if (size > this.maxBodyBytes) return this.reject(res, 413, `body of ${size} bytes exceeds ${this.maxBodyBytes}`, id);

    let payload: string;
    try {
      payload = decryptAes128gcm(body, sub).toString('utf8');
    } catch (err) {
      return this.reject(res, 400, `decryption failed: ${(err as Error).message}`, id);
    }
    this.record({
      subscriberId: id,
      endpoint: sub.endpoint,
      payload,
      json: () => JSON.parse(payload) as unknown,
      headers: { ttl: Number(ttlText), urgency: header(req, 'urgency'), topic: header(req, 'topic'), contentEncoding },
      httpVersion: req.httpVersion === '2.0' ? '2.0' : '1.1',
      vapid: vapid.claims,
      receivedAt: Date.now(),
    });
    const answer = asStatus(behaviour) ?? { status: 201 };
    const reply = () => {
      res.writeHead(answer.status, { location: `${this.origin}/message/${randomUUID()}`, ...answer.headers });
      res.end(answer.body ?? '');
    };
    if (!answer.delayMs) return reply();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.closed) reply();
    }, answer.delayMs);
    this.timers.add(timer);
  }

  /** The VAPID audience a request must name: our origin, or the .localhost name it was sent to. */
  private audience(req: Http2ServerRequest): string {
    const authority = header(req, ':authority') ?? header(req, 'host') ?? '';
    const port = new URL(this.origin).port;
    const named = /^([a-z0-9-]+\.)+localhost:(\d+)$/i.exec(authority);
    return named && named[2] === port ? `https://${authority.toLowerCase()}` : this.origin;
  }

  private record(msg: ReceivedPush): void {
    this.messages.push(msg);
    this.waiter.notify();
  }
}

function header(req: Http2ServerRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export async function startPushService(opts?: PushServiceOptions): Promise<PushService> {
  const service = new PushService(opts);
  await service.listen();
  return service;
}
