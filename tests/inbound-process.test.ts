// `npm run inbound`: the bounce domain's listener as a process of its own, beside an API process
// on the same Redis. It reads the token secret from the shared configuration, accepts our signed
// VERP addresses, refuses every other recipient at RCPT, and stops cleanly on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from './support/redis';
import { startPushService } from './support/push-service';
import { startSmtpServer } from './support/smtp';
import { serviceEnv, spawnService, startApi } from './support/processes';
import { deliverReport, dsn } from './support/reports';
import { TokenSigner } from '../src/tokens';

test('npm run inbound listens alone on BOUNCE_SMTP_PORT: signed VERP accepted, anything else refused at RCPT, SIGTERM exits 0', async (t) => {
  const [redis, push, smtp] = await Promise.all([startRedis(), startPushService(), startSmtpServer()]);
  t.after(async () => {
    await push.close();
    await smtp.close();
    await redis.stop();
  });
  const env = serviceEnv(redis.url, push, smtp, { BOUNCE_DOMAIN: 'rebonds.exemple.fr', BOUNCE_SMTP_PORT: '0' });
  const { proc: api } = await startApi(env);
  t.after(() => api.kill('SIGKILL'));
  const inbound = spawnService('inbound', env);
  t.after(() => inbound.kill('SIGKILL'));
  const line = await inbound.waitForLog((l) => l.msg === 'inbound SMTP listener for bounces and complaints');
  const port = Number(line.port);
  // The API process listens on its own port with BOUNCE_SMTP_PORT=0 too; this is the other one.
  assert.ok(port > 0);

  const verp = `bounces+${new TokenSigner(env.TOKEN_SECRET).signVerp({ alertId: 'm3x9k2a0b1c2d3e4f5', rev: 1, subscriberId: 7 })}@rebonds.exemple.fr`;
  const report = dsn({ recipient: 'personne@exemple.fr', status: '5.1.1', verp, originalMessageId: '<a@b>' });
  const ok = await deliverReport(port, verp, report);
  assert.equal(ok.rcpt.code, 250, ok.rcpt.text);
  assert.equal(ok.data?.code, 250, 'a report about nobody we know is taken and changes nothing');
  assert.equal((await deliverReport(port, 'postmaster@rebonds.exemple.fr', report)).rcpt.code, 550);
  assert.equal((await deliverReport(port, 'quelqu.un@ailleurs.exemple.fr', report)).rcpt.code, 550);

  inbound.kill('SIGTERM');
  assert.deepEqual(await inbound.waitForExit(15_000), { code: 0, signal: null });
});
