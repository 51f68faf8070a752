// Mail that comes back after the send, over a real SMTP conversation with the inbound listener:
// VERP envelope senders, a Postfix-style DSN (hard and soft), a feedback-loop ARF complaint, and
// the refusals at RCPT of anything that is not one of our signed VERP addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack } from './support/stack';
import { mailsTo, seedConfirmed } from './support/email';
import { arf, deliverReport, dsn, SmtpClient } from './support/reports';
import type { ReceivedMail } from './support/smtp';

const DOMAIN = 'rebonds.exemple.fr';
let s: Stack;
let port: number;

before(async () => {
  s = await startStack({ BOUNCE_DOMAIN: DOMAIN, BOUNCE_SMTP_PORT: '0', BOUNCE_RATE_LIMIT: '40' });
  port = s.app.inboundPort!;
  assert.ok(port > 0, 'the inbound listener runs with the API');
});
after(async () => {
  await s.stop();
});

async function sendAlert(title: string): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { channels: ['email'], title, body: 'Le texte.' }, editor());
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  await s.delivered(id);
  return id;
}

/** The one copy of the alert an address got since `from`. */
function copyTo(address: string, from: number): ReceivedMail {
  const got = mailsTo(s, address, from);
  assert.equal(got.length, 1, `${address} got ${got.length} copies`);
  return got[0];
}

const status = async (id: number) => (await s.app.domain.emailSubscribers.get(id))?.status;

test('every alert email has a VERP envelope sender naming its alert, revision and reader; From stays MAIL_FROM', async () => {
  const [id] = await seedConfirmed(s, ['verp@exemple.fr']);
  const n = s.smtp.messages.length;
  const alertId = await sendAlert('Envelope');
  const mail = copyTo('verp@exemple.fr', n);
  const m = /^bounces\+([a-z0-9.]+)@rebonds\.exemple\.fr$/.exec(mail.from);
  assert.ok(m, mail.from);
  assert.ok(mail.from.split('@')[0].length <= 64, 'local part within 64 characters');
  assert.deepEqual(s.app.domain.tokens.verifyVerp(m[1]), { alertId, rev: 1, subscriberId: id });
  assert.match(mail.fromHeader, /^"?dépêche"? <alertes@depeche\.example>$/);
});

test('a hard DSN (5.1.1) over SMTP marks the reader bounced, suppresses the address and counts email.bounced', async () => {
  const [id] = await seedConfirmed(s, ['parti@exemple.fr']);
  const n = s.smtp.messages.length;
  const alertId = await sendAlert('Hard');
  const mail = copyTo('parti@exemple.fr', n);
  const report = dsn({ recipient: 'parti@exemple.fr', status: '5.1.1', verp: mail.from, originalMessageId: mail.headers['message-id'] });
  const r = await deliverReport(port, mail.from, report);
  assert.equal(r.rcpt.code, 250);
  assert.equal(r.data?.code, 250);
  assert.equal(await status(id), 'bounced');
  assert.equal((await s.app.domain.suppressions.get('Parti@Exemple.fr'))?.reason, 'bounced');
  const { targeted, sent, failed, bounced, complained } = (await s.alert(alertId)).delivery.email;
  assert.deepEqual({ sent, failed, bounced, complained }, { sent: targeted, failed: 0, bounced: 1, complained: 0 });
  // The same report delivered again changes nothing more.
  assert.equal((await deliverReport(port, mail.from, report)).data?.code, 250);
  assert.equal((await s.alert(alertId)).delivery.email.bounced, 1);
});

test('an ARF complaint over SMTP unsubscribes and suppresses the reader and counts email.complained; only a release lets them back', async () => {
  const [id] = await seedConfirmed(s, ['fache@exemple.fr']);
  const n = s.smtp.messages.length;
  const alertId = await sendAlert('Complaint');
  const mail = copyTo('fache@exemple.fr', n);
  const r = await deliverReport(
    port,
    mail.from,
    arf({ recipient: 'fache@exemple.fr', verp: mail.from, originalMessageId: mail.headers['message-id'] }),
  );
  assert.equal(r.data?.code, 250);
  assert.equal(await status(id), 'unsubscribed');
  const view = await s.alert(alertId);
  assert.equal(view.delivery.email.complained, 1);
  assert.equal(view.revisions[0].delivery.email.complained, 1);
  const listed = await s.api('GET', '/api/suppressions', undefined, editor());
  assert.ok(
    (listed.json.suppressions as unknown as { email: string; reason: string }[]).some(
      (e) => e.email === 'fache@exemple.fr' && e.reason === 'complained',
    ),
  );

  // Asking to subscribe again mails nothing while the complaint stands…
  const before = s.smtp.messages.length;
  assert.equal((await s.api('POST', '/api/subscriptions/email', { email: 'fache@exemple.fr' })).status, 202);
  await until(async () =>
    (await s.app.queues.mail.getCompleted()).some((j) => j.data.subscriberId === id && j.returnvalue === 'suppressed'),
  );
  assert.equal(mailsTo(s, 'fache@exemple.fr', before).length, 0, 'no confirmation mail while suppressed');
  // …and after an editor's release, a fresh request gets its confirmation mail (the resend
  // interval, another test's subject, is lifted by hand).
  assert.equal((await s.api('DELETE', '/api/suppressions/fache@exemple.fr', undefined, editor())).status, 204);
  await s.app.queues.mail.removeDeduplicationKey(`confirm-${id}`);
  assert.equal((await s.api('POST', '/api/subscriptions/email', { email: 'fache@exemple.fr' })).status, 202);
  await until(async () => mailsTo(s, 'fache@exemple.fr', before).length === 1);
});

test('soft DSNs (4.2.2) count once per message and suppress the reader at the third message in a row', async () => {
  const [id] = await seedConfirmed(s, ['plein@exemple.fr']);
  for (let i = 1; i <= 3; i++) {
    const n = s.smtp.messages.length;
    const alertId = await sendAlert(`Soft ${i}`);
    const mail = copyTo('plein@exemple.fr', n);
    const report = dsn({ recipient: 'plein@exemple.fr', status: '4.2.2', verp: mail.from, originalMessageId: mail.headers['message-id'] });
    assert.equal((await deliverReport(port, mail.from, report)).data?.code, 250);
    // A second notice about the same message (a delay, then the final failure) is not a second bounce.
    assert.equal((await deliverReport(port, mail.from, report)).data?.code, 250);
    assert.equal(await status(id), i < 3 ? 'confirmed' : 'bounced', `after message ${i}`);
    assert.equal((await s.alert(alertId)).delivery.email.bounced, 0, 'a soft bounce is not a bounce');
  }
  assert.equal((await s.app.domain.suppressions.get('plein@exemple.fr'))?.reason, 'bounced');
});

test('soft bounces in a row follow the send order: 2 soft + 1 accepted + 2 soft leaves the reader subscribed; the accepted one bouncing late makes 5 in a row', async () => {
  const [id, clean] = await seedConfirmed(s, ['rebond@exemple.fr', 'sain@exemple.fr']);
  const mails: ReceivedMail[] = [];
  for (let i = 1; i <= 5; i++) {
    const n = s.smtp.messages.length;
    await sendAlert(`Row ${i}`);
    mails.push(copyTo('rebond@exemple.fr', n));
    // The third message is accepted and nothing comes back for it (yet): it breaks the row.
    if (i === 3) continue;
    const m = mails[i - 1];
    const report = dsn({ recipient: 'rebond@exemple.fr', status: '4.2.2', verp: m.from, originalMessageId: m.headers['message-id'] });
    assert.equal((await deliverReport(port, m.from, report)).data?.code, 250);
  }
  assert.equal(await status(id), 'confirmed', 'two, then two more: never three in a row');
  assert.equal(await s.app.domain.suppressions.get('rebond@exemple.fr'), null);
  // A reader with no soft bounce on record cost no write on the way: no log, no bit.
  const { redis, keys } = s.app.domain;
  assert.equal(await redis.exists(keys.emailSoftLog(clean)), 0);
  assert.equal(await redis.getbit(keys.emailSoftStrikes, clean), 0);
  // A relay reports the third message late: it was not delivered after all, and the five messages
  // in send order are five soft bounces in a row.
  const third = mails[2];
  const late = dsn({ recipient: 'rebond@exemple.fr', status: '4.4.7', verp: third.from, originalMessageId: third.headers['message-id'] });
  assert.equal((await deliverReport(port, third.from, late)).data?.code, 250);
  assert.equal(await status(id), 'bounced');
  assert.equal((await s.app.domain.suppressions.get('rebond@exemple.fr'))?.reason, 'bounced');
  assert.equal(await redis.exists(keys.emailSoftLog(id)), 0, 'the suppressed reader leaves no log behind');
});

test('mail to a non-VERP address, a forged token or another domain is refused at RCPT with 550', async () => {
  const [id] = await seedConfirmed(s, ['cible@exemple.fr']);
  const n = s.smtp.messages.length;
  await sendAlert('Forgery');
  const good = copyTo('cible@exemple.fr', n).from;
  const token = good.slice('bounces+'.length, good.indexOf('@'));
  const flipped = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
  const otherReader = token.replace(/\.([a-z0-9]+)\.([0-9a-f]{20})$/, (_, _sub: string, mac: string) => `.${(id + 1).toString(36)}.${mac}`);
  const unparsedBefore = await s.app.domain.redis.llen(s.app.domain.keys.inboundUnparsed);
  for (const to of [
    `postmaster@${DOMAIN}`,
    `bounces@${DOMAIN}`,
    `bounces+${flipped}@${DOMAIN}`,
    `bounces+${otherReader}@${DOMAIN}`,
    `bounces+${token}@ailleurs.exemple.fr`,
    'quelqu.un@gmail.com',
  ]) {
    const r = await deliverReport(port, to, dsn({ recipient: 'cible@exemple.fr', status: '5.1.1', verp: to, originalMessageId: '<x@y>' }));
    assert.equal(r.rcpt.code, 550, `${to}: ${r.rcpt.text}`);
    assert.equal(r.data, undefined);
  }
  assert.equal(await status(id), 'confirmed', 'nothing changed');
  assert.equal(await s.app.domain.redis.llen(s.app.domain.keys.inboundUnparsed), unparsedBefore);
});

test('an unreadable message to a valid VERP address is kept for inspection and the listener goes on', async () => {
  const [id] = await seedConfirmed(s, ['lisible@exemple.fr']);
  const n = s.smtp.messages.length;
  await sendAlert('Unreadable');
  const verp = copyTo('lisible@exemple.fr', n).from;
  const before = await s.app.domain.redis.llen(s.app.domain.keys.inboundUnparsed);
  const r = await deliverReport(port, verp, 'From: robot@exemple.fr\r\nSubject: vacances\r\n\r\nJe suis absent.\r\n');
  assert.equal(r.data?.code, 250);
  assert.equal(await s.app.domain.redis.llen(s.app.domain.keys.inboundUnparsed), before + 1);
  assert.equal(await status(id), 'confirmed');
  // A peer speaking nonsense, then a well-formed session: still answered.
  const { client, greeting } = await SmtpClient.open(port);
  assert.equal(greeting.code, 220);
  assert.ok((await client.send('\u0000\u0001 n\u00e9ant')).code >= 500);
  assert.equal((await client.send('EHLO mx.exemple.fr')).code, 250);
  client.close();
});

test('a message over BOUNCE_MAX_BYTES is refused with 552 and changes nothing', async () => {
  const [id] = await seedConfirmed(s, ['gros@exemple.fr']);
  const n = s.smtp.messages.length;
  await sendAlert('Size');
  const mail = copyTo('gros@exemple.fr', n);
  const report = dsn({ recipient: 'gros@exemple.fr', status: '5.1.1', verp: mail.from, originalMessageId: 'x'.repeat(300_000) });
  const r = await deliverReport(port, mail.from, report);
  assert.equal(r.data?.code, 552);
  assert.equal(await status(id), 'confirmed');
});

test('a peer past BOUNCE_RATE_LIMIT messages per minute is told to come back later (450)', async () => {
  const { client } = await SmtpClient.open(port);
  const ehlo = await client.send('EHLO mx.exemple.fr');
  assert.equal(ehlo.code, 250);
  let last = 0;
  for (let i = 0; i < 90 && last !== 450; i++) {
    last = (await client.send('MAIL FROM:<>')).code;
    if (last === 250) await client.send('RSET');
  }
  assert.equal(last, 450, 'the peer was slowed down');
  client.close();
});
