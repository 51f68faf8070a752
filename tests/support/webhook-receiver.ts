// A local https receiver for outbound webhooks (loopback only, the shared self-signed
// certificate): it records every request with its raw body and headers, answers with the
// statuses a test scripts (then 204), and lets a test await the n-th request.
import { createServer, type Server } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { makeSelfSignedCert } from './certs';
import { CountWaiter } from './wait';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** The next requests get these statuses, in order; afterwards 204. `always` overrides. */
  answer(statuses: number[]): void;
  always(status: number | null): void;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  /** The events received so far, each verified with the standardwebhooks package (throws if one is not). */
  verified(secret: string): { id: string; type: string; data: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** Writes the receiver's certificate where the service can read it (WEBHOOK_TLS_CA_FILE). */
export function receiverCaFile(dir: string): string {
  const file = join(dir, 'webhook-ca.pem');
  writeFileSync(file, makeSelfSignedCert().cert);
  return file;
}

export async function startReceiver(): Promise<Receiver> {
  const { key, cert } = makeSelfSignedCert();
  const received: Received[] = [];
  const scripted: number[] = [];
  let fixed: number | null = null;
  const waiter = new CountWaiter('webhook requests', () => received.length);
  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = fixed ?? scripted.shift() ?? 204;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'en panne' : '');
      waiter.notify();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `https://127.0.0.1:${port}/crochet`,
    received,
    answer: (statuses) => scripted.push(...statuses),
    always: (status) => {
      fixed = status;
    },
    waitFor: (n, timeoutMs = 10_000) => waiter.wait(n, timeoutMs),
    verified: (secret) =>
      received.map((r) => {
        const msg = new Webhook(secret).verify(r.body, r.headers) as { type: string; data: Record<string, unknown> };
        return { id: r.headers['webhook-id'] ?? '', type: msg.type, data: msg.data };
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
