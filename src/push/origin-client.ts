// One push-service origin, seen from a delivery process: a single HTTP/2 session carries every
// request (one TLS handshake, header compression, no head-of-line queueing per socket). A service
// that does not offer h2 in ALPN is spoken to over keep-alive HTTP/1.1 instead. Requests in flight
// are bounded per origin, each has a total deadline (connection included) and a cap on the
// response body, and nothing here follows redirects: a 3xx is just a status for the caller.
import http2, { type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { isIP } from 'node:net';
import { BodyHead, firstValue, parseRetryAfter } from './answer';

export { parseRetryAfter };

export interface OriginClientOptions {
  timeoutMs: number;
  maxInFlight: number;
  maxResponseBytes: number;
  secureContext: tls.SecureContext;
}

// An open session stays open (there are only a handful of push services, and a breaking alert
// must not wait for a TLS handshake) and is pinged this often: a dead connection is found before
// an alert needs it, and middleboxes keep its state. A service that closes it gets a new one on
// the next push.
const PING_EVERY_MS = 30_000;

export interface RawResponse {
  status: number;
  retryAfter?: string;
  /** The first bytes of the answer's body: a refusal's explanation (Apple's JSON reason, ...). */
  body: string;
  protocol: 'h2' | 'http/1.1';
}

/** The request did not get a complete answer; always worth retrying later. */
export class PushTransportError extends Error {
  override name = 'PushTransportError';
  constructor(
    readonly code: 'timeout' | 'too-large' | 'network',
    message: string,
  ) {
    super(message);
  }
}

/** How long an origin is left alone after a 429 that names no Retry-After. */
const DEFAULT_RATE_LIMIT_MS = 5000;

/** The origin asked us (429) to leave it alone for `ms` more; nothing was sent. */
export class OriginPaused extends Error {
  override name = 'OriginPaused';
  constructor(readonly ms: number) {
    super(`origin paused for ${ms} ms after a 429`);
  }
}

/** What to do when a request's deadline passes: set by whichever stage is running. */
interface Deadline {
  cancel: (() => void) | undefined;
}

/** A FIFO counting semaphore. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  acquire(): Promise<void> | undefined {
    if (this.active < this.limit) {
      this.active++;
      return undefined;
    }
    return new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
  get idle(): boolean {
    return this.active === 0;
  }
}

// A service found without h2 is asked again after this long (it may have been upgraded).
const REPROBE_H1_MS = 10 * 60_000;

export class OriginClient {
  private session: ClientHttp2Session | undefined;
  private connecting: Promise<ClientHttp2Session | null> | undefined;
  private h1Since = 0;
  private agent: https.Agent | undefined;
  private readonly slots: Slots;
  private readonly host: string;
  private readonly port: number;
  private closed = false;
  /** Dropped by the sender: closes as soon as its last request ends. */
  private retiring = false;
  /** Set after a 429: until then no request to this origin leaves this process. */
  private pausedUntil = 0;

  constructor(
    private readonly origin: string,
    private readonly opts: OriginClientOptions,
  ) {
    const u = new URL(origin);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || 443);
    this.slots = new Slots(opts.maxInFlight);
  }

  /** Holds every request to this origin, those already waiting for a slot included, until `untilMs`. */
  pause(untilMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }

  pausedFor(now = Date.now()): number {
    return Math.max(0, this.pausedUntil - now);
  }

  async post(path: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<RawResponse> {
    const wait = this.slots.acquire();
    if (wait) await wait;
    // A plain timer rather than an AbortSignal: cheaper, and it cancels whatever stage is running.
    const deadline: Deadline = { cancel: undefined };
    const timer = setTimeout(() => deadline.cancel?.(), this.opts.timeoutMs);
    try {
      // Checked after the wait for a slot: a 429 may have come in meanwhile.
      const paused = this.pausedFor();
      if (paused > 0) throw new OriginPaused(paused);
      // An open session is used in the same tick (no await): the request leaves with the next write.
      const open = this.openSession();
      const session = open !== undefined ? open : await this.h2Session(deadline);
      const res = session ? await this.h2Post(session, path, headers, body, deadline) : await this.h1Post(path, headers, body, deadline);
      // Before the slot is released: the request waiting for it must already see the pause.
      if (res.status === 429) this.pause(Date.now() + (parseRetryAfter(res.retryAfter) ?? DEFAULT_RATE_LIMIT_MS));
      return res;
    } catch (err) {
      if (err instanceof PushTransportError || err instanceof OriginPaused) throw err;
      throw new PushTransportError('network', (err as Error).message);
    } finally {
      clearTimeout(timer);
      this.slots.release();
      if (this.retiring && this.slots.idle) this.close();
    }
  }

  /** Opens the connection ahead of the first alert, so it does not pay the TLS handshake. */
  async warm(): Promise<void> {
    if (this.openSession() !== undefined) return;
    const deadline: Deadline = { cancel: undefined };
    const timer = setTimeout(() => deadline.cancel?.(), this.opts.timeoutMs);
    try {
      await this.h2Session(deadline);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Takes no part in new sends (the sender forgot it); closes once the requests it has end. */
  retire(): void {
    this.retiring = true;
    if (this.slots.idle) this.close();
  }

  /** A live HTTP/2 session, or HTTP/1.1 chosen for this origin. */
  get connected(): boolean {
    return !this.closed && this.openSession() !== undefined;
  }

  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
    this.agent?.destroy();
  }

  /** The session to use right now: a live h2 session, null for HTTP/1.1, undefined if unknown. */
  private openSession(): ClientHttp2Session | null | undefined {
    if (this.h1Since && Date.now() - this.h1Since < REPROBE_H1_MS) return null;
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    return undefined;
  }

  private h2Session(deadline: Deadline): Promise<ClientHttp2Session | null> {
    const open = this.openSession();
    if (open !== undefined) return Promise.resolve(open);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return new Promise((resolve, reject) => {
      deadline.cancel = () => reject(new PushTransportError('timeout', `no connection within ${this.opts.timeoutMs} ms`));
      this.connecting!.then(resolve, reject);
    });
  }

  /** Opens TLS offering h2 and http/1.1; resolves with an h2 session, or null for HTTP/1.1. */
  private connect(): Promise<ClientHttp2Session | null> {
    if (this.closed) return Promise.reject(new Error('client closed'));
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: this.host,
        port: this.port,
        ...(isIP(this.host) ? {} : { servername: this.host }),
        ALPNProtocols: ['h2', 'http/1.1'],
        secureContext: this.opts.secureContext,
      });
      // A service that never finishes the handshake must not hold this origin forever.
      socket.setTimeout(this.opts.timeoutMs, () => socket.destroy(new Error('TLS handshake timed out')));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        // Closed (or retired) while connecting: nobody will close this session later.
        if (this.closed) {
          socket.destroy();
          reject(new Error('client closed'));
          return;
        }
        if (socket.alpnProtocol !== 'h2') {
          this.h1Since = Date.now();
          socket.destroy();
          resolve(null);
          return;
        }
        this.h1Since = 0;
        const session = http2.connect(this.origin, { createConnection: () => socket });
        const forget = () => {
          if (this.session === session) this.session = undefined;
        };
        // Errors reach the streams in flight; the session is simply replaced on next use.
        session.on('error', forget);
        session.on('close', forget);
        session.on('goaway', forget);
        const pinger = setInterval(() => {
          if (!session.closed) session.ping(() => undefined);
        }, PING_EVERY_MS);
        pinger.unref();
        session.once('close', () => clearInterval(pinger));
        this.session = session;
        resolve(session);
      });
    });
  }

  private h2Post(
    session: ClientHttp2Session,
    path: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    deadline: Deadline,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
      let status = 0;
      let retryAfter: string | undefined;
      let size = 0;
      const head = new BodyHead();
      let settled = false;
      const fail = (e: Error) => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      };
      deadline.cancel = () => {
        fail(this.timeoutError());
        stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      stream.on('response', (h) => {
        status = Number(h[':status']);
        retryAfter = firstValue(h['retry-after']);
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        head.add(chunk);
        if (size > this.opts.maxResponseBytes) {
          fail(new PushTransportError('too-large', `response body over ${this.opts.maxResponseBytes} bytes`));
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      });
      stream.on('end', () => {
        if (!settled) {
          settled = true;
          resolve({ status, retryAfter, protocol: 'h2', body: head.text() });
        }
      });
      stream.on('error', fail);
      stream.on('close', () => {
        if (!settled) fail(new PushTransportError('network', `stream closed (code ${stream.rstCode ?? '?'}) before the answer ended`));
      });
      stream.end(body);
    });
  }

  private timeoutError(): PushTransportError {
    return new PushTransportError('timeout', `no complete answer within ${this.opts.timeoutMs} ms`);
  }

  private h1Post(path: string, headers: OutgoingHttpHeaders, body: Buffer, deadline: Deadline): Promise<RawResponse> {
    this.agent ??= new https.Agent({
      keepAlive: true,
      maxSockets: this.opts.maxInFlight,
      secureContext: this.opts.secureContext,
      ALPNProtocols: ['http/1.1'],
      ...(isIP(this.host) ? {} : { servername: this.host }),
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      };
      const req = https.request({ host: this.host, port: this.port, path, method: 'POST', headers, agent: this.agent }, (res) => {
        let size = 0;
        const head = new BodyHead();
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          head.add(chunk);
          if (size > this.opts.maxResponseBytes) {
            fail(new PushTransportError('too-large', `response body over ${this.opts.maxResponseBytes} bytes`));
            req.destroy();
          }
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: firstValue(res.headers['retry-after']),
            protocol: 'http/1.1',
            body: head.text(),
          });
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!settled) fail(new PushTransportError('network', 'connection closed before the answer ended'));
        });
      });
      deadline.cancel = () => {
        fail(this.timeoutError());
        req.destroy();
      };
      req.on('error', fail);
      req.end(body);
    });
  }
}
