// The reader's side over plain HTTP: the subscribe page and its files as a browser fetches them,
// the public click report, and the time zone a subscription may carry. The browser itself is
// exercised in tests/browser.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config';
import { startStack, editor, type Stack } from './support/stack';

let s: Stack;
before(async () => {
  s = await startStack({ PAGE_TOPICS: 'politique:Politique,sport:Sport,culture:Culture & arts' });
});
after(async () => {
  await s.stop();
});

async function pushSubscriberCount(): Promise<number> {
  return Number((await s.app.domain.redis.get(s.app.domain.keys.nextId('push'))) ?? 0);
}

test('the subscribe page is French, lists the configured topics and runs under a strict CSP', async () => {
  const root = await s.api('GET', '/');
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/alertes');

  const page = await s.api('GET', '/alertes');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.match(page.text, /<html lang="fr">/);
  assert.match(page.text, />Recevoir les alertes</);
  assert.match(page.text, />Ne plus recevoir les alertes</);
  const boxes = [...page.text.matchAll(/<input type="checkbox" name="topics" value="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(boxes, ['politique', 'sport', 'culture']);
  assert.match(page.text, /Culture &amp; arts/, 'labels are HTML-escaped');

  const csp = page.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  // Every script is either a file or a JSON data block (never executed, so CSP allows it).
  const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 3);
  for (const [, attrs, content] of scripts) {
    if (/type="application\/json"/.test(attrs)) JSON.parse(content);
    else {
      assert.match(attrs, /src="\/static\/[a-z]+\.js"/);
      assert.equal(content, '');
    }
  }
  assert.doesNotMatch(page.text, /<style|\sstyle="|\son[a-z]+="/, 'no inline style or event handler attribute');
});

test('/alertes?lang=en is the same page in English (English typography, its messages too) and links back to the French one; an unknown lang gets the French page', async () => {
  const en = await s.api('GET', '/alertes?lang=en');
  assert.equal(en.status, 200);
  assert.match(en.text, /<html lang="en">/);
  assert.match(en.text, /<title>Get our alerts/);
  assert.match(en.text, /href="\/alertes\?lang=fr"[^>]*>Français</);
  assert.doesNotMatch(en.text, /\u202f[:;!?]|&nbsp;[:;!?]/, 'no French spaces before punctuation');
  const messages = JSON.parse(/<script type="application\/json" id="messages">([\s\S]*?)<\/script>/.exec(en.text)![1]) as Record<
    string,
    string
  >;
  assert.match(messages['page.newsletterTooMany'], /^Too many attempts/);
  assert.doesNotMatch(en.text, /Recevoir nos alertes/);
  const fr = await s.api('GET', '/alertes?lang=de');
  assert.match(fr.text, /<html lang="fr">/);
  assert.match(fr.text, /href="\/alertes\?lang=en"[^>]*>English</);
});

test('the service worker and static files are served with the right headers', async () => {
  const sw = await s.api('GET', '/sw.js');
  assert.equal(sw.status, 200);
  assert.equal(sw.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(sw.headers.get('service-worker-allowed'), '/');
  assert.equal(sw.headers.get('cache-control'), 'no-cache');
  assert.match(sw.text, /importScripts\('\/sw-core\.js'\)/, 'the worker is the one line a site can host too');
  const core = await s.api('GET', '/sw-core.js');
  assert.equal(core.status, 200);
  assert.equal(core.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(core.text, /addEventListener\('push'/);

  for (const [path, type] of [
    ['/static/alertes.js', /javascript/],
    ['/static/commun.js', /javascript/],
    ['/static/alertes.css', /text\/css/],
    ['/static/icone-192.png', /image\/png/],
    ['/static/manifest.webmanifest', /manifest\+json/],
  ] as const) {
    const r = await fetch(s.base + path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type')!, type, path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
  const outside = await s.api('GET', '/static/..%2f..%2fsrc%2fconfig.ts');
  assert.equal(outside.status, 404);
  const missing = await s.api('GET', '/static/absent.js');
  assert.equal(missing.status, 404);
  assert.equal(String(missing.json.error.code), 'not_found');
});

test('a click is counted without any credential, at most once per push sent, and 404 for unknown alerts', async () => {
  const reader = s.push.newSubscriber();
  assert.equal(
    (await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: reader.endpoint, keys: reader.keys } })).status,
    201,
  );
  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Séisme au large de la Grèce', body: 'Magnitude 6,1.', url: 'https://www.exemple.fr/seisme', channels: ['push'] },
    editor(),
  );
  const id = String(pub.json.id);
  const before = await s.delivered(id);
  assert.ok(before.delivery.push.sent >= 1);
  assert.equal(before.delivery.push.clicked, 0);

  const click = await s.api('POST', `/api/alerts/${id}/click`);
  assert.equal(click.status, 204);
  assert.equal(click.text, '');
  assert.equal((await s.alert(id)).delivery.push.clicked, 1);

  // A replayed report cannot push the figure past the pushes actually sent.
  for (let i = 0; i < before.delivery.push.sent + 3; i++) assert.equal((await s.api('POST', `/api/alerts/${id}/click`)).status, 204);
  assert.equal((await s.alert(id)).delivery.push.clicked, before.delivery.push.sent);

  const unknown = await s.api('POST', '/api/alerts/zzzzzzzzzzzz/click');
  assert.equal(unknown.status, 404);
  assert.equal(String(unknown.json.error.code), 'not_found');
  assert.equal((await s.api('POST', '/api/alerts/..%2Fx/click')).status, 404);
  // The public click route opens nothing else: the alert itself still needs an editor, and no
  // other method answers on the click's path.
  assert.equal((await s.api('GET', `/api/alerts/${id}`)).status, 401);
  assert.equal((await s.api('GET', `/api/alerts/${id}/click`)).status, 404);
});

test('a subscription may carry the browser time zone; a bad one is refused and nothing is stored', async () => {
  const reader = s.push.newSubscriber();
  const ok = await s.api('POST', '/api/subscriptions/push', {
    subscription: { endpoint: reader.endpoint, keys: reader.keys },
    topics: ['sport'],
    timeZone: 'Europe/Paris',
  });
  assert.equal(ok.status, 201);
  const count = await pushSubscriberCount();
  for (const timeZone of ['Mars/Olympus_Mons', 'Europe/Paris; rm -rf', 42, 'x'.repeat(80)]) {
    const other = s.push.newSubscriber();
    const bad = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: other.endpoint, keys: other.keys }, timeZone });
    assert.equal(bad.status, 400, String(timeZone));
    assert.equal(String(bad.json.error.code), 'invalid_time_zone');
    assert.match(String(bad.json.error.message), /^timeZone: /);
  }
  assert.equal(await pushSubscriberCount(), count);
});

test('PAGE_TOPICS is validated at start with one clear line', () => {
  assert.equal(loadConfig({ PAGE_TOPICS: 'sport:Sport, meteo:Météo' }).page.topics[1].label, 'Météo');
  assert.equal(loadConfig({}).page.topics[0].slug, 'international');
  assert.throws(
    () => loadConfig({ PAGE_TOPICS: 'Sport:Sport' }),
    /^Error: configuration: PAGE_TOPICS: entry "Sport:Sport" must be slug:Label/,
  );
  assert.throws(() => loadConfig({ PAGE_TOPICS: 'sport' }), /PAGE_TOPICS/);
  assert.throws(() => loadConfig({ PAGE_TOPICS: 'sport:Sport,sport:Encore' }), /listed twice/);
});
