// Signed outbound webhooks (issue 19): a chief registers an endpoint, events arrive at a local
// https receiver signed the Standard Webhooks way and are checked there with the
// `standardwebhooks` package; a 500 is retried with the same webhook-id; an endpoint that only
// fails for WEBHOOK_DISABLE_AFTER (2 s here) is disabled; subscriber events carry an address
// only for endpoints that opted in. Everything stays on loopback (WEBHOOK_ALLOW_PRIVATE=true).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startStack, editor, until, CHIEF, type Stack } from './support/stack';
import { confirmEmail, subscribePush } from './support/newsroom';
import { receiverCaFile, startReceiver, type Receiver } from './support/webhook-receiver';

let s: Stack;
const receivers: Receiver[] = [];
const ALL = ['alert.published', 'alert.delivered', 'alert.cancelled', 'alert.corrected', 'subscriber.bounced', 'subscriber.complained'];

before(async () => {
  s = await startStack({
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TLS_CA_FILE: receiverCaFile(mkdtempSync(join(tmpdir(), 'depeche-wh-'))),
    WEBHOOK_RETRY_DELAY: '200ms',
    WEBHOOK_DISABLE_AFTER: '2s',
    SECRETS_KEY: randomBytes(32).toString('hex'),
  });
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await s.stop();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function register(url: string, events: string[], extra: Record<string, unknown> = {}) {
  const r = await s.api('POST', '/api/webhooks', { url, events, ...extra }, editor(CHIEF));
  assert.equal(r.status, 201, r.text);
  return { id: String(r.json.id), secret: String(r.json.secret) };
}

async function publish(body: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
}

const eventsOf = (rx: Receiver, secret: string, alertId: string) => rx.verified(secret).filter((e) => e.data.alertId === alertId);

test('a chief registers an endpoint and gets its whsec_ secret once; the list never shows it, Redis keeps it sealed with SECRETS_KEY; an editor gets 403', async () => {
  const rx = await receiver();
  const created = await s.api('POST', '/api/webhooks', { url: rx.url, events: ['alert.published'] }, editor(CHIEF));
  assert.equal(created.status, 201, created.text);
  assert.match(String(created.json.secret), /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(created.json.url, rx.url);
  assert.deepEqual(created.json.events, ['alert.published']);
  const list = await s.api('GET', '/api/webhooks', undefined, editor(CHIEF));
  assert.equal(list.status, 200);
  assert.ok(list.text.includes(String(created.json.id)));
  assert.ok(!list.text.includes('whsec_') && !list.text.includes('secret'), 'no secret in the list');
  const stored = (await s.app.domain.redis.hget(s.app.domain.keys.webhook(String(created.json.id)), 'secret')) ?? '';
  assert.match(stored, /^sealed:/);
  assert.ok(!stored.includes(String(created.json.secret).slice(6, 20)));
  assert.equal((await s.api('GET', '/api/webhooks', undefined, editor())).status, 403);
  assert.equal((await s.api('POST', '/api/webhooks', { url: rx.url, events: ['alert.published'] }, editor())).status, 403);
  assert.equal((await s.api('DELETE', `/api/webhooks/${String(created.json.id)}`, undefined, editor(CHIEF))).status, 204);
  assert.equal((await s.api('GET', `/api/webhooks/${String(created.json.id)}/deliveries`, undefined, editor(CHIEF))).status, 404);
});

test('publish, delivery, correction and cancel arrive signed: standardwebhooks verifies each, a tampered body fails', async () => {
  const rx = await receiver();
  const { id: endpointId, secret } = await register(rx.url, ALL);
  await subscribePush(s);
  const id = await publish({ title: 'Séisme au large de Nice', body: 'Magnitude 5,1 ; pas de victime signalée.' });
  await s.delivered(id, 10_000);
  await until(async () => eventsOf(rx, secret, id).some((e) => e.type === 'alert.delivered'), 10_000);
  const [published] = eventsOf(rx, secret, id).filter((e) => e.type === 'alert.published');
  assert.equal(published?.data.title, 'Séisme au large de Nice');
  assert.equal(published?.data.kind, 'original');
  assert.equal(published?.data.status, 'queued');
  const delivered = eventsOf(rx, secret, id).find((e) => e.type === 'alert.delivered')!;
  const push = (delivered.data.delivery as { push: Record<string, number> }).push;
  assert.ok(push.targeted >= 1 && push.sent === push.targeted, JSON.stringify(delivered.data));
  assert.equal(eventsOf(rx, secret, id).filter((e) => e.type === 'alert.delivered').length, 1, 'delivered once');

  const req = rx.received.find((r) => r.body.includes(`"alert.delivered"`) && r.body.includes(id))!;
  assert.match(req.headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.equal(req.headers['webhook-id'], `msg_${id}_1_delivered`);
  assert.ok(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
  assert.throws(() => new Webhook(secret).verify(req.body.replace('delivered', 'cancelled'), req.headers), /signature/i);

  const fix = await s.api('POST', `/api/alerts/${id}/corrections`, { title: 'Séisme : magnitude 4,8', body: 'Et non 5,1.' }, editor());
  assert.equal(fix.status, 202, fix.text);
  await until(async () => eventsOf(rx, secret, id).some((e) => e.type === 'alert.corrected' && e.data.rev === 2), 10_000);

  const later = await publish({ title: 'Conférence de presse à 18 h', publishAt: new Date(Date.now() + 3_600_000).toISOString() });
  assert.equal((await s.api('POST', `/api/alerts/${later}/cancel`, undefined, editor(CHIEF))).status, 200);
  await until(async () => eventsOf(rx, secret, later).some((e) => e.type === 'alert.cancelled'), 10_000);
  const cancelled = eventsOf(rx, secret, later).find((e) => e.type === 'alert.cancelled')!;
  assert.equal(cancelled.data.by, 'chef');
  assert.equal(eventsOf(rx, secret, later).find((e) => e.type === 'alert.published')?.data.status, 'scheduled');
  assert.equal((await s.api('DELETE', `/api/webhooks/${endpointId}`, undefined, editor(CHIEF))).status, 204);
});

test('a receiver answering 500 twice gets the same event again, same webhook-id, until its 204; the delivery log keeps the three answers', async () => {
  const rx = await receiver();
  const { id: endpointId, secret } = await register(rx.url, ['alert.published']);
  rx.answer([500, 500]);
  const id = await publish({ title: 'Coupure de courant à Lyon' });
  await rx.waitFor(3, 15_000);
  const attempts = rx.received.slice(0, 3);
  assert.deepEqual(
    attempts.map((r) => r.status),
    [500, 500, 204],
  );
  assert.equal(new Set(attempts.map((r) => r.headers['webhook-id'])).size, 1, 'one message, retried');
  assert.ok(eventsOf(rx, secret, id).every((e) => e.type === 'alert.published'));
  const log = await until(async () => {
    const r = await s.api('GET', `/api/webhooks/${endpointId}/deliveries`, undefined, editor(CHIEF));
    const d = r.json.deliveries as unknown as { status: number; ok: boolean; attempt: number; response?: string }[];
    return d.length >= 3 ? d : null;
  });
  assert.deepEqual(
    log.slice(0, 3).map((d) => [d.attempt, d.status, d.ok]),
    [
      [3, 204, true],
      [2, 500, false],
      [1, 500, false],
    ],
  );
  assert.equal(log[1]?.response, 'en panne');
  assert.equal((await s.api('DELETE', `/api/webhooks/${endpointId}`, undefined, editor(CHIEF))).status, 204);
});

test('an endpoint answering only 500 for WEBHOOK_DISABLE_AFTER is disabled and gets no new job; PATCH enabled:true brings it back', async () => {
  const rx = await receiver();
  const { id: endpointId, secret } = await register(rx.url, ['alert.published']);
  rx.always(500);
  await publish({ title: 'Grève à la SNCF' });
  const shown = await until(async () => {
    const list = (await s.api('GET', '/api/webhooks', undefined, editor(CHIEF))).json.webhooks as unknown as {
      id: string;
      enabled: boolean;
      disabled?: { reason: string };
    }[];
    const e = list.find((x) => x.id === endpointId);
    return e && !e.enabled ? e : null;
  }, 15_000);
  assert.equal(shown.disabled?.reason, 'failing');
  assert.ok(rx.received.length >= 2, 'retried before giving up');
  assert.ok(s.logs.some((l) => l.msg.includes('webhook endpoint disabled')));

  const quiet = await publish({ title: 'Grève à la SNCF : reprise du trafic' });
  assert.equal(await s.app.queues.webhook.getJob(`msg_${quiet}_1_published-${endpointId}`), undefined, 'nothing queued for it');

  rx.always(null);
  const on = await s.api('PATCH', `/api/webhooks/${endpointId}`, { enabled: true }, editor(CHIEF));
  assert.equal(on.status, 200, on.text);
  assert.equal(on.json.enabled, true);
  assert.equal(on.json.disabled, undefined);
  const back = await publish({ title: 'Grève à la SNCF : trafic normal demain' });
  await until(async () => eventsOf(rx, secret, back).length > 0, 10_000);
  assert.equal((await s.api('DELETE', `/api/webhooks/${endpointId}`, undefined, editor(CHIEF))).status, 204);
});

test('subscriber.bounced names the address only for the endpoint that asked for includeAddresses', async () => {
  const plain = await receiver();
  const withAddr = await receiver();
  const a = await register(plain.url, ['subscriber.bounced']);
  const b = await register(withAddr.url, ['subscriber.bounced'], { includeAddresses: true });
  await confirmEmail(s, 'rebond@exemple.fr');
  s.smtp.setRcptReject('rebond@exemple.fr');
  const id = await publish({ title: 'Inondations dans le Gard', channels: ['email'] });
  await s.delivered(id, 10_000);
  await plain.waitFor(1);
  await withAddr.waitFor(1);
  const [p] = eventsOf(plain, a.secret, id);
  const [w] = eventsOf(withAddr, b.secret, id);
  assert.equal(p?.type, 'subscriber.bounced');
  assert.equal(p?.data.channel, 'email');
  assert.equal(typeof p?.data.subscriberId, 'number');
  assert.ok(!plain.received[0].body.includes('rebond'), 'no address without includeAddresses');
  assert.equal(w?.data.email, 'rebond@exemple.fr');
  assert.equal(w?.data.subscriberId, p?.data.subscriberId);
});

test('a complaint reported after the send (feedback loop) is told as subscriber.complained, naming the alert', async () => {
  const rx = await receiver();
  const { secret } = await register(rx.url, ['subscriber.complained']);
  await confirmEmail(s, 'plainte@exemple.fr');
  const id = await publish({ title: 'Canicule : vigilance rouge', channels: ['email'] });
  await s.delivered(id, 10_000);
  const subscriberId = Number(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, 'plainte@exemple.fr'));
  // What the inbound listener does with an ARF report to this message's VERP address.
  await s.app.domain.feedback.onMessage({ alertId: id, rev: 1, subscriberId }, 'complaint', 'smtp');
  await rx.waitFor(1);
  const [e] = eventsOf(rx, secret, id);
  assert.equal(e?.type, 'subscriber.complained');
  assert.equal(e?.data.subscriberId, subscriberId);
  assert.ok(!rx.received[0].body.includes('plainte@'), 'no address without includeAddresses');
});
