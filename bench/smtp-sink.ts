// The benchmark's SMTP server: smtp-server on loopback, in its own process so that receiving does
// not compete with the sender for the event loop (both sides of the comparison face the same
// server). It reads each message's List-Unsubscribe header and counts the distinct links, which
// shows whether every message carried its own. The parent talks to it over IPC.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

let received = 0;
const links = new Set<string>();
let waiting: { n: number } | null = null;

function headerOf(head: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return m?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
}

const server = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  logger: false,
  // The bench opens as many connections as the pool it measures; keep them all.
  maxClients: 1000,
  onData(stream, _session, cb) {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      // Headers come first; the first few KB hold them all.
      if (head.length < 16_384 && !head.includes('\r\n\r\n')) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      received++;
      const link = headerOf(head.split('\r\n\r\n')[0] ?? '', 'List-Unsubscribe');
      if (link) links.add(link);
      if (waiting && received >= waiting.n) {
        waiting = null;
        process.send?.({ type: 'reached', received, at: Date.now() });
      }
      cb();
    });
  },
});
server.on('error', () => undefined);

process.on('message', (msg: { type: string; n?: number }) => {
  if (msg.type === 'reset') {
    received = 0;
    links.clear();
    process.send?.({ type: 'reset' });
  } else if (msg.type === 'waitFor') {
    waiting = { n: msg.n ?? 0 };
    if (received >= waiting.n) {
      waiting = null;
      process.send?.({ type: 'reached', received, at: Date.now() });
    }
  } else if (msg.type === 'stats') {
    process.send?.({ type: 'stats', received, distinctLinks: links.size });
  } else if (msg.type === 'close') {
    server.close(() => process.exit(0));
  }
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.server.address() as AddressInfo).port });
});
