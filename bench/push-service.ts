// The bench's push service, in its own process: real TLS, HTTP/2 and HTTP/1.1 (ALPN), the cheap
// checks on every request (POST, route, TTL, aes128gcm, body ≤ 4096 bytes, a vapid header), and
// on every `decryptEvery`-th request the expensive ones: the VAPID signature verified and the
// payload decrypted with the subscriber's keys, which must give the alert's JSON. Sampling keeps
// this process's share of the two cores small, and the same for dépêche and for the baseline
// (whose tokens all differ: verifying each would slow the baseline down, not dépêche).
// It answers 201 and reports counts and times to the parent over IPC.
import { createECDH } from 'node:crypto';
import { createServer } from 'node:http2';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { decryptAes128gcm, type UaKeys } from '../tests/support/push-crypto';
import { verifyVapid } from '../tests/support/vapid';
import { makeSelfSignedCert } from '../tests/support/certs';
import { poolIndexOf, type PoolKey } from './subscribers';

export interface ServiceStats {
  accepted: number;
  rejected: number;
  firstAt: number;
  lastAt: number;
  h2: number;
  h1: number;
  connections: number;
  decrypted: number;
  badPayloads: number;
  lastReason: string;
  /**
   * Per RFC 8030 Topic header (one per story or alert: src/push/payload.ts's replacementKey), the
   * accepted count and the first and last 201: the scenarios tell two alerts in flight apart by it.
   */
  byTopic: Record<string, { accepted: number; firstAt: number; lastAt: number }>;
}

const now = () => performance.timeOrigin + performance.now();

function main(): void {
  const [poolFile, decryptEveryArg] = process.argv.slice(2);
  const pool: UaKeys[] = (JSON.parse(readFileSync(poolFile, 'utf8')) as PoolKey[]).map((k) => {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(k.privateKey, 'base64url'));
    return { ecdh, publicKey: Buffer.from(k.publicKey, 'base64url'), auth: Buffer.from(k.auth, 'base64url') };
  });
  const decryptEvery = Number(decryptEveryArg ?? 50);
  const { key, cert } = makeSelfSignedCert();
  let origin = '';
  let expectTitle = '';
  const stats: ServiceStats = {
    accepted: 0,
    rejected: 0,
    firstAt: 0,
    lastAt: 0,
    h2: 0,
    h1: 0,
    connections: 0,
    decrypted: 0,
    badPayloads: 0,
    lastReason: '',
    byTopic: {},
  };

  /** The checks and the answer, the same for both protocols. Returns [status, reason]. */
  const handle = (
    method: string | undefined,
    path: string | undefined,
    h: Record<string, string | string[] | undefined>,
    body: Buffer,
    size: number,
    http2: boolean,
  ): [number, string] => {
    const reject = (status: number, reason: string): [number, string] => {
      stats.rejected++;
      stats.lastReason = reason;
      return [status, reason];
    };
    const tok = /^\/fcm\/send\/([A-Za-z0-9_:-]+)$/.exec(path ?? '')?.[1];
    if (method !== 'POST' || !tok) return reject(404, 'no such subscription');
    if (!/^\d+$/.test(String(h.ttl ?? ''))) return reject(400, 'TTL missing');
    if (h['content-encoding'] !== 'aes128gcm') return reject(415, 'not aes128gcm');
    if (size > 4096) return reject(413, 'body over 4096 bytes');
    const auth = String(h.authorization ?? '');
    if (!/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/.test(auth)) return reject(403, 'no vapid authorization');
    const n = stats.accepted + stats.rejected;
    if (n % decryptEvery === 0) {
      const v = verifyVapid(auth, origin);
      if (!v.ok) return reject(403, v.reason);
      const ua = pool[poolIndexOf(tok)];
      try {
        const payload = ua ? (JSON.parse(decryptAes128gcm(body, ua).toString('utf8')) as { title?: string }) : null;
        if (!payload || (expectTitle && payload.title !== expectTitle)) stats.badPayloads++;
        stats.decrypted++;
      } catch {
        return reject(400, 'decryption failed');
      }
    }
    const t = now();
    if (stats.accepted === 0) stats.firstAt = t;
    stats.lastAt = t;
    stats.accepted++;
    const topic = typeof h.topic === 'string' ? h.topic : '';
    const per = (stats.byTopic[topic] ??= { accepted: 0, firstAt: t, lastAt: t });
    per.accepted++;
    per.lastAt = t;
    if (http2) stats.h2++;
    else stats.h1++;
    return [201, ''];
  };

  const readBody = (src: NodeJS.ReadableStream, done: (body: Buffer, size: number) => void) => {
    const chunks: Buffer[] = [];
    let size = 0;
    src.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 4096) chunks.push(c);
    });
    src.on('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), size));
  };

  // HTTP/2 through node's core stream API (no request/response compatibility objects), and
  // HTTP/1.1 through the https module; one TLS listener picks by ALPN, as real services do.
  const h2 = createServer();
  h2.on('stream', (stream, headers) => {
    readBody(stream, (body, size) => {
      const [status, reason] = handle(headers[':method'], headers[':path'], headers, body, size, true);
      stream.respond({ ':status': status }, { endStream: reason === '' });
      if (reason !== '') stream.end(reason);
    });
  });
  const h1 = createHttpServer((req, res) => {
    readBody(req, (body, size) => {
      const [status, reason] = handle(req.method, req.url, req.headers, body, size, false);
      res.writeHead(status);
      res.end(reason);
    });
  });
  const server = createTlsServer({ key, cert, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
    stats.connections++;
    (socket.alpnProtocol === 'h2' ? h2 : h1).emit('connection', socket);
  });
  server.listen(0, '127.0.0.1', () => {
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.send!({ kind: 'ready', origin, ca: cert });
  });
  process.on('message', (m: { kind: string; title?: string }) => {
    if (m.kind === 'reset') {
      Object.assign(stats, {
        accepted: 0,
        rejected: 0,
        firstAt: 0,
        lastAt: 0,
        h2: 0,
        h1: 0,
        connections: 0,
        decrypted: 0,
        badPayloads: 0,
        lastReason: '',
        byTopic: {},
      });
      expectTitle = m.title ?? '';
    }
    if (m.kind === 'stats') process.send!({ kind: 'stats', stats });
    if (m.kind === 'stop') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
}

main();
