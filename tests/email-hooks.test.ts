// Providers' webhooks (Mailgun's HMAC-signed events, Postmark's basic auth, SendGrid's ECDSA-signed
// events) and the suppression
// list's API: signatures checked both ways, events mapped onto the same bounce and complaint
// handling as the inbound listener, and a suppressed address left out of the next alert.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { startStack, editor, type Stack } from './support/stack';
import { mailsTo, seedConfirmed } from './support/email';

const MAILGUN_KEY = 'mg-signing-3f9a0c1b2d4e5f60718293a4b5c6d7e8';
const POSTMARK = 'postmark:mot-de-passe-des-rebonds';
/** SendGrid's key pair: the newsroom configures the public half, as the dashboard shows it (base64 DER). */
const SENDGRID = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let s: Stack;

before(async () => {
  s = await startStack({
    MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
    POSTMARK_WEBHOOK_AUTH: POSTMARK,
    SENDGRID_WEBHOOK_PUBLIC_KEY: SENDGRID.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  });
});
after(async () => {
  await s.stop();
});

function mailgunSignature(key = MAILGUN_KEY, timestamp = Math.floor(Date.now() / 1000)) {
  const token = randomBytes(25).toString('hex');
  const ts = String(timestamp);
  return {
    timestamp: ts,
    token,
    signature: createHmac('sha256', key)
      .update(ts + token)
      .digest('hex'),
  };
}

/** An event as Mailgun posts it (webhooks API v3, JSON). */
function mailgunEvent(event: Record<string, unknown>, signature: Record<string, string> | null = mailgunSignature()) {
  return {
    ...(signature ? { signature } : {}),
    'event-data': { id: randomBytes(8).toString('hex'), timestamp: Date.now() / 1000, 'log-level': 'error', ...event },
  };
}

/** A batch of SendGrid events as SendGrid posts it: the raw JSON, signed over timestamp + body. */
function sendgridPost(events: object[], key: KeyObject = SENDGRID.privateKey, timestamp = Math.floor(Date.now() / 1000)) {
  const body = JSON.stringify(events);
  const ts = String(timestamp);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-timestamp': ts,
      'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(ts + body), key).toString('base64'),
    },
  };
}

const basic = (userPass: string) => ({ authorization: `Basic ${Buffer.from(userPass).toString('base64')}` });

async function publish(title: string): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { channels: ['email'], title, body: 'Texte.' }, editor());
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  await s.delivered(id);
  return id;
}

const status = async (id: number) => (await s.app.domain.emailSubscribers.get(id))?.status;
const reason = async (email: string) => (await s.app.domain.suppressions.get(email))?.reason;

test('Mailgun: a signed permanent failure bounces and suppresses the reader and counts the alert its Message-ID names', async () => {
  const [id] = await seedConfirmed(s, ['mg-parti@exemple.fr']);
  const n = s.smtp.messages.length;
  const alertId = await publish('Mailgun');
  const [mail] = mailsTo(s, 'mg-parti@exemple.fr', n);
  const messageId = mail.headers['message-id'].replace(/^<|>$/g, '');
  const r = await s.api(
    'POST',
    '/api/hooks/email/mailgun',
    mailgunEvent({
      event: 'failed',
      severity: 'permanent',
      reason: 'bounce',
      recipient: 'mg-parti@exemple.fr',
      'delivery-status': { code: 550, message: '5.1.1 The email account does not exist' },
      message: { headers: { 'message-id': messageId, to: 'mg-parti@exemple.fr' } },
    }),
  );
  assert.equal(r.status, 200, r.text);
  assert.equal(await status(id), 'bounced');
  assert.equal(await reason('mg-parti@exemple.fr'), 'bounced');
  assert.equal((await s.alert(alertId)).delivery.email.bounced, 1);
});

test('Mailgun: a signed complaint unsubscribes and suppresses the reader', async () => {
  const [id] = await seedConfirmed(s, ['mg-fache@exemple.fr']);
  const r = await s.api('POST', '/api/hooks/email/mailgun', mailgunEvent({ event: 'complained', recipient: 'mg-fache@exemple.fr' }));
  assert.equal(r.status, 200, r.text);
  assert.equal(await status(id), 'unsubscribed');
  assert.equal(await reason('mg-fache@exemple.fr'), 'complained');
});

test('SendGrid: a signed batch with a bounce (counted on the alert its smtp-id names) and a spamreport bounces one reader and unsubscribes the other', async () => {
  const [hard, spam] = await seedConfirmed(s, ['sg-parti@exemple.fr', 'sg-fache@exemple.fr']);
  const n = s.smtp.messages.length;
  const alertId = await publish('SendGrid');
  const [mail] = mailsTo(s, 'sg-parti@exemple.fr', n);
  const at = Math.floor(Date.now() / 1000);
  const post = sendgridPost([
    {
      email: 'sg-parti@exemple.fr',
      timestamp: at,
      'smtp-id': mail.headers['message-id'],
      event: 'bounce',
      type: 'bounce',
      status: '5.1.1',
      reason: '550 5.1.1 The email account that you tried to reach does not exist.',
      sg_event_id: randomBytes(16).toString('base64url'),
      sg_message_id: 'filter0001.12345.1.0',
    },
    { email: 'sg-fache@exemple.fr', timestamp: at, event: 'spamreport', sg_event_id: randomBytes(16).toString('base64url') },
    { email: 'sg-fache@exemple.fr', timestamp: at, event: 'delivered', response: '250 OK' },
  ]);
  const r = await s.api('POST', '/api/hooks/email/sendgrid', post.body, post.headers);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { handled: 2, events: 3 });
  assert.equal(await status(hard), 'bounced');
  assert.equal(await status(spam), 'unsubscribed');
  assert.equal(await reason('sg-parti@exemple.fr'), 'bounced');
  assert.equal(await reason('sg-fache@exemple.fr'), 'complained');
  assert.equal((await s.alert(alertId)).delivery.email.bounced, 1);
  // The same signed request again is a replay: acknowledged, acted on once.
  const again = await s.api('POST', '/api/hooks/email/sendgrid', post.body, post.headers);
  assert.equal(again.status, 200);
  assert.equal(again.json.replay, true);
  assert.equal((await s.alert(alertId)).delivery.email.bounced, 1);
});

test('Postmark: with the basic-auth credentials, a HardBounce bounces and a SpamComplaint unsubscribes, both suppressed', async () => {
  const [hard, spam] = await seedConfirmed(s, ['pm-parti@exemple.fr', 'pm-fache@exemple.fr']);
  const bounce = {
    RecordType: 'Bounce',
    ID: 4323372036,
    Type: 'HardBounce',
    TypeCode: 1,
    Name: 'Hard bounce',
    MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Email: 'pm-parti@exemple.fr',
    From: 'alertes@depeche.example',
    BouncedAt: new Date().toISOString(),
  };
  assert.equal((await s.api('POST', '/api/hooks/email/postmark', bounce, basic(POSTMARK))).status, 200);
  const complaint = { RecordType: 'SpamComplaint', Type: 'SpamComplaint', TypeCode: 512, Email: 'pm-fache@exemple.fr' };
  assert.equal((await s.api('POST', '/api/hooks/email/postmark', complaint, basic(POSTMARK))).status, 200);
  assert.equal(await status(hard), 'bounced');
  assert.equal(await status(spam), 'unsubscribed');
  assert.equal(await reason('pm-parti@exemple.fr'), 'bounced');
  assert.equal(await reason('pm-fache@exemple.fr'), 'complained');
});

test('webhooks with a missing or wrong signature get 401 and change nothing', async (t) => {
  const [id] = await seedConfirmed(s, ['intact@exemple.fr']);
  const event = { event: 'complained', recipient: 'intact@exemple.fr' };
  const pm = { RecordType: 'SpamComplaint', Type: 'SpamComplaint', Email: 'intact@exemple.fr' };
  const old = Math.floor(Date.now() / 1000) - 3600;
  const forged = { ...mailgunSignature(), signature: createHmac('sha256', MAILGUN_KEY).update('autre chose').digest('hex') };
  const rows: [string, string, unknown, Record<string, string>?][] = [
    ['Mailgun, no signature', 'mailgun', mailgunEvent(event, null)],
    ['Mailgun, signature over other text', 'mailgun', mailgunEvent(event, forged)],
    ['Mailgun, signed with another key', 'mailgun', mailgunEvent(event, mailgunSignature('une-autre-cle-de-signature'))],
    ['Mailgun, signed an hour ago (replay)', 'mailgun', mailgunEvent(event, mailgunSignature(MAILGUN_KEY, old))],
    [
      'Mailgun, a form instead of JSON',
      'mailgun',
      'event=complained&recipient=intact@exemple.fr',
      { 'content-type': 'application/x-www-form-urlencoded' },
    ],
    ['Postmark, no credentials', 'postmark', pm],
    ['Postmark, wrong password', 'postmark', pm, basic('postmark:pas-le-bon-mot')],
    ['Postmark, wrong user', 'postmark', pm, basic('autre:mot-de-passe-des-rebonds')],
    ['Postmark, a bearer token', 'postmark', pm, { authorization: 'Bearer mot-de-passe-des-rebonds' }],
    ['a provider we do not know', 'sendinblue', pm],
  ];
  const sg = [{ email: 'intact@exemple.fr', timestamp: Math.floor(Date.now() / 1000), event: 'spamreport' }];
  const signed = sendgridPost(sg);
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const { 'x-twilio-email-event-webhook-signature': _sig, ...unsigned } = signed.headers;
  const [foreign, stale] = [sendgridPost(sg, other), sendgridPost(sg, SENDGRID.privateKey, old)];
  rows.push(
    ['SendGrid, no signature', 'sendgrid', signed.body, unsigned],
    ['SendGrid, signed with another key', 'sendgrid', foreign.body, foreign.headers],
    ['SendGrid, body changed after signing', 'sendgrid', signed.body.replace('intact', 'Intact'), signed.headers],
    ['SendGrid, signed an hour ago (replay)', 'sendgrid', stale.body, stale.headers],
  );
  for (const [name, provider, body, headers] of rows) {
    await t.test(name, async () => {
      const before = await s.app.domain.suppressions.count();
      const r = await s.api('POST', `/api/hooks/email/${provider}`, body, headers);
      assert.equal(r.status, provider === 'sendinblue' ? 404 : 401, r.text);
      if (r.status === 401) assert.equal(String(r.json.error.code), 'bad_signature');
      assert.equal(await status(id), 'confirmed');
      assert.equal(await s.app.domain.suppressions.count(), before);
    });
  }
});

test('suppression list API: editors add, list, export and release entries; strangers get 401', async () => {
  assert.equal((await s.api('GET', '/api/suppressions')).status, 401);
  assert.equal((await s.api('POST', '/api/suppressions', { email: 'x@exemple.fr' })).status, 401);
  const add = await s.api('POST', '/api/suppressions', { email: 'Main@Exemple.fr' }, editor());
  assert.equal(add.status, 201, add.text);
  assert.deepEqual(
    { email: add.json.email, reason: add.json.reason, by: add.json.by },
    { email: 'main@exemple.fr', reason: 'manual', by: 'redaction' },
  );
  const bad = await s.api('POST', '/api/suppressions', { email: 'pas une adresse' }, editor());
  assert.equal(bad.status, 400);
  const list = await s.api('GET', '/api/suppressions?limit=500', undefined, editor());
  assert.equal(list.status, 200);
  const emails = (list.json.suppressions as unknown as { email: string }[]).map((e) => e.email);
  assert.ok(emails.includes('main@exemple.fr'));
  assert.equal(Number(list.json.total), emails.length);
  const csv = await s.api('GET', '/api/suppressions/export', undefined, editor());
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.match(csv.text, /^email,reason,at,by\r\n/);
  assert.match(csv.text, /\r\nmain@exemple\.fr,manual,\d{4}-[^,]+,redaction\r\n/);
  assert.equal((await s.api('DELETE', '/api/suppressions/MAIN@exemple.fr', undefined, editor())).status, 204);
  assert.equal((await s.api('DELETE', '/api/suppressions/main@exemple.fr', undefined, editor())).status, 404);
  assert.equal(await reason('main@exemple.fr'), undefined);
});

test('a suppressed address is not mailed by the next alert, and is mailed again once released', async () => {
  await seedConfirmed(s, ['garde@exemple.fr', 'voisin@exemple.fr']);
  assert.equal((await s.api('POST', '/api/suppressions', { email: 'garde@exemple.fr' }, editor())).status, 201);
  const n = s.smtp.messages.length;
  const first = await publish('Suppressed');
  assert.equal(mailsTo(s, 'garde@exemple.fr', n).length, 0, 'not mailed while suppressed');
  assert.equal(mailsTo(s, 'voisin@exemple.fr', n).length, 1);
  const view = await s.alert(first);
  assert.equal(view.delivery.email.sent, view.delivery.email.targeted - 1, 'settled as skipped, not sent');
  assert.equal((await s.api('DELETE', '/api/suppressions/garde@exemple.fr', undefined, editor())).status, 204);
  const m = s.smtp.messages.length;
  await publish('Released');
  assert.equal(mailsTo(s, 'garde@exemple.fr', m).length, 1);
});
