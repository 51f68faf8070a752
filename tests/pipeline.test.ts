// The foundation's promise, end to end: an alert published through the API reaches a subscribed
// browser (decrypted by the local push service) and a confirmed email subscriber. How fast is a
// speed budget, measured by `npm run bench:latency` (≤ 2 s end to end), not here: the waits
// below are bounds for a loaded machine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack, pushCounts } from './support/stack';
import { confirmEmail as confirmEmailVia } from './support/newsroom';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s.stop();
});

const confirmEmail = (address: string, topics: string[] = []) => confirmEmailVia(s, address, { topics });

test('an alert published through the API reaches a push subscriber and a confirmed email subscriber, and reads delivered with exact counts', async () => {
  const browser = s.push.newSubscriber();
  const sub = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: browser.endpoint, keys: browser.keys } });
  assert.equal(sub.status, 201);
  await confirmEmail('lectrice@exemple.fr');
  const mailsBefore = s.smtp.messages.length;

  const pub = await s.api(
    'POST',
    '/api/alerts',
    {
      title: 'Cessez-le-feu au Haut-Karabakh',
      body: 'Les combats ont cessé ce matin, selon les deux camps.',
      url: 'https://www.exemple.fr/monde/karabakh',
    },
    editor(),
  );
  assert.equal(pub.status, 202);
  const id = String(pub.json.id);

  await s.push.waitFor(1, 20_000);
  await s.smtp.waitFor(mailsBefore + 1, 20_000);

  const payload = s.push.messages[0].json() as Record<string, unknown>;
  assert.equal(payload.title, 'Cessez-le-feu au Haut-Karabakh');
  assert.equal(payload.id, id);
  assert.equal(payload.url, 'https://www.exemple.fr/monde/karabakh');
  assert.equal(payload.urgency, 'high');
  assert.equal(s.push.messages[0].headers.urgency, 'high');
  assert.ok(s.push.messages[0].headers.ttl > 0 && s.push.messages[0].headers.ttl <= 24 * 3600);

  const mail = s.smtp.messages.at(-1)!;
  assert.deepEqual(mail.to, ['lectrice@exemple.fr']);
  assert.equal(mail.subject, 'Cessez-le-feu au Haut-Karabakh');
  assert.match(
    mail.headers['list-unsubscribe'],
    /^<https:\/\/alertes\.example\.fr\/api\/subscriptions\/email\/unsubscribe\?token=[\w.-]+>$/,
  );
  assert.equal(mail.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click');
  assert.match(mail.text, /Les combats ont cessé ce matin/);

  const view = await s.delivered(id, 20_000);
  assert.deepEqual(
    { ...view.delivery, push: pushCounts(view.delivery.push) },
    {
      push: { targeted: 1, sent: 1, failed: 0, expired: 0, clicked: 0 },
      email: { targeted: 1, sent: 1, failed: 0, bounced: 0, complained: 0 },
    },
  );

  const list = await s.api('GET', '/api/alerts', undefined, editor());
  assert.equal(String(list.json.alerts[0].id), id);
});

test('one-click unsubscribe (RFC 8058) works without cookies; a GET of the link and a tampered POST leave the reader subscribed', async () => {
  await confirmEmail('depart@exemple.fr');
  const n = s.smtp.messages.length;
  await s.api('POST', '/api/alerts', { title: 'Essai', body: 'Texte', channels: ['email'] }, editor());
  await until(async () => s.smtp.messages.slice(n).find((m) => m.to.includes('depart@exemple.fr')));
  const mail = s.smtp.messages.slice(n).find((m) => m.to.includes('depart@exemple.fr'))!;
  const url = new URL(/^<(.+)>$/.exec(mail.headers['list-unsubscribe'])![1]);
  const path = url.pathname + url.search;

  const get = await s.api('GET', path);
  assert.equal(get.status, 200);
  const tampered = await s.api(
    'POST',
    path.replace(/token=(.)/, (_m, c: string) => `token=${c === 'u' ? 'c' : 'u'}`),
    'List-Unsubscribe=One-Click',
    { 'content-type': 'application/x-www-form-urlencoded' },
  );
  assert.ok([400, 404].includes(tampered.status));
  // Link scanners GET every link in a mail: the reader must still be subscribed after both.
  const k = s.smtp.messages.length;
  const still = await s.api('POST', '/api/alerts', { title: 'Toujours abonnée', body: '', channels: ['email'] }, editor());
  await s.delivered(String(still.json.id));
  assert.equal(s.smtp.messages.slice(k).filter((x) => x.to.includes('depart@exemple.fr')).length, 1, 'still subscribed after the GET');

  const oneClick = await s.api('POST', path, 'List-Unsubscribe=One-Click', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(oneClick.status, 200);

  const m = s.smtp.messages.length;
  const pub = await s.api('POST', '/api/alerts', { title: 'Après le départ', body: '', channels: ['email'] }, editor());
  await s.delivered(String(pub.json.id));
  assert.equal(s.smtp.messages.slice(m).filter((x) => x.to.includes('depart@exemple.fr')).length, 0);
});

test('topics: subscribers with topics get matching alerts and alerts without topics', async () => {
  s.push.reset();
  const sport = s.push.newSubscriber();
  const all = s.push.newSubscriber();
  await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: sport.endpoint, keys: sport.keys }, topics: ['sport'] });
  await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: all.endpoint, keys: all.keys } });
  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Élections : résultats', body: '', topics: ['politique'], channels: ['push'] },
    editor(),
  );
  await s.delivered(String(pub.json.id));
  const got = (sub: { id: string }) =>
    s.push.messages.filter((m) => m.subscriberId === sub.id).map((m) => (m.json() as { title: string }).title);
  assert.ok(got(all).includes('Élections : résultats'));
  assert.deepEqual(got(sport), []);
  const pub2 = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Victoire des Bleus', body: '', topics: ['sport'], channels: ['push'] },
    editor(),
  );
  await s.delivered(String(pub2.json.id));
  assert.deepEqual(got(sport), ['Victoire des Bleus']);
});

test('re-subscribing the same endpoint updates it, and DELETE removes it', async () => {
  const b = s.push.newSubscriber();
  const one = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: ['sport'] });
  const two = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: ['culture'] });
  assert.equal(one.json.id, two.json.id);
  const del = await s.api('DELETE', '/api/subscriptions/push', { endpoint: b.endpoint });
  assert.equal(del.status, 204);
  s.push.reset();
  const pub = await s.api('POST', '/api/alerts', { title: 'Après désabonnement', body: '', channels: ['push'] }, editor());
  await s.delivered(String(pub.json.id));
  assert.equal(s.push.messages.filter((m) => m.subscriberId === b.id).length, 0);
});
