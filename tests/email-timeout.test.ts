// An SMTP server that accepts the connection and then says nothing: the send times out
// (SMTP_TIMEOUT_MS), the batch is retried, and the reader gets the alert once when the server
// answers again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { startStack, editor, type Stack } from './support/stack';
import { deliveredOnceAfterRetry, seedConfirmed } from './support/email';

/** A TCP front on loopback: its first `hang` connections are held silent, later ones reach the sink. */
let front: Server;
let sinkPort = 0;
let hang = 1;
const held: Socket[] = [];
let s: Stack;

before(async () => {
  front = createServer((sock) => {
    if (hang > 0) {
      hang--;
      held.push(sock);
      sock.on('error', () => undefined);
      return;
    }
    const up = connect(sinkPort, '127.0.0.1');
    const close = () => {
      sock.destroy();
      up.destroy();
    };
    sock.on('error', close);
    up.on('error', close);
    sock.pipe(up).pipe(sock);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  s = await startStack({
    SMTP_URL: `smtp://127.0.0.1:${(front.address() as AddressInfo).port}`,
    // Long enough that a real send on a loaded machine never hits it (one at 300 ms did, under a
    // load average of 18, and was retried after the server had the message: a duplicate), short
    // enough that the silent connection is given up quickly.
    SMTP_TIMEOUT_MS: '2000',
    SMTP_POOL_SIZE: '1',
  });
  sinkPort = s.smtp.port;
});
after(async () => {
  for (const sock of held) sock.destroy();
  await s.stop();
  await new Promise((r) => front.close(r));
});

test('a silent SMTP server times out; the batch is retried and delivered once', async () => {
  await seedConfirmed(s, ['patiente@exemple.fr']);
  const pub = await s.api('POST', '/api/alerts', { title: 'Serveur muet', body: '', channels: ['email'] }, editor());
  const id = String(pub.json.id);
  await deliveredOnceAfterRetry(s, id, 1, 0);
  assert.ok(held.length >= 1, 'the first connection met the silent server');
});
