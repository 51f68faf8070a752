// The reader's side in real headless Chromium, against the real app: the subscribe page, its
// error messages, the service worker showing pushes (delivered through the DevTools protocol),
// receipts (`received`, `clicked`) posted by the worker and counted in the alert's report, story replacement by tag, and re-subscription.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import webpush from 'web-push';
import { startStack, editor, until, type Stack } from './support/stack';
import { artifact, launchChromium, Reader } from './support/browser';
import type { TestSubscriber } from './support/push-service';

const T = { timeout: 90_000 };
let s: Stack;
let browser: Browser;
const readers: Reader[] = [];

before(
  async () => {
    s = await startStack({ PAGE_TOPICS: 'politique:Politique,sport:Sport,culture:Culture' });
    browser = await launchChromium();
  },
  { timeout: 120_000 },
);

after(async () => {
  for (const r of readers) await r.close().catch(() => {});
  await browser?.close();
  await s?.stop();
});

async function reader(opts: Parameters<typeof Reader.open>[2] = {}): Promise<Reader> {
  const r = await Reader.open(browser, s.base, opts);
  readers.push(r);
  return r;
}

const status = (r: Reader) => r.page.locator('#etat');
/** The status line as read aloud: French typography's no-break spaces compare as spaces. */
const said = async (r: Reader) => ((await status(r).textContent()) ?? '').replace(/[\u00a0\u202f]/g, ' ');
const pushIds = async () => Number((await s.app.domain.redis.get(s.app.domain.keys.nextId('push'))) ?? 0);
const received = (sub: TestSubscriber) => s.push.messages.filter((m) => m.subscriberId === sub.id);

async function publish(body: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  await s.delivered(id, 10_000);
  return id;
}

test('subscribe with the keyboard at phone width, get an alert as a notification, click it, change topics, unsubscribe', T, async () => {
  const sub = s.push.newSubscriber();
  const r = await reader({ permission: 'granted', timezoneId: 'America/Martinique' });
  await r.fakePushManager(sub);
  const posted: unknown[] = [];
  r.page.on('request', (req) => {
    if (req.url().endsWith('/api/subscriptions/push') && req.method() === 'POST') posted.push(req.postDataJSON());
  });
  await r.page.goto(`${s.base}/alertes`);
  await assertEnabled(r, '#recevoir');
  assert.equal(await r.page.locator('#desabonner').isVisible(), false);

  // Keyboard only: Tab to the first topic, Space ticks it, Tab through to the button, Enter.
  await r.page.keyboard.press('Tab');
  assert.equal(await r.focused(), 'checkbox:politique');
  await r.page.keyboard.press('Space');
  for (const next of ['checkbox:sport', 'checkbox:culture', 'checkbox:22:00-08:00', 'button:recevoir']) {
    await r.page.keyboard.press('Tab');
    assert.equal(await r.focused(), next);
  }
  await r.page.keyboard.press('Enter');
  await until(async () => (await said(r)).startsWith('C’est fait'), 20_000);
  assert.equal(
    await said(r),
    'C’est fait : vous recevrez sur cet appareil les alertes des thèmes choisis (Politique), ainsi que les alertes majeures.',
  );
  assert.equal(await status(r).getAttribute('role'), 'status');
  assert.match((await status(r).textContent()) ?? '', /fait\u00a0: /, 'a no-break space before the colon');
  assert.equal(await r.page.locator('#recevoir').textContent(), 'Enregistrer mes thèmes');
  assert.equal(await r.page.locator('#desabonner').isVisible(), true);

  // The page subscribed with our VAPID key and sent topics, the browser's time zone and that key.
  const publicKey = String((await s.api('GET', '/api/push/public-key')).json.publicKey);
  assert.deepEqual(await r.subscribeCalls(), [{ userVisibleOnly: true, key: publicKey }]);
  assert.deepEqual(posted, [
    {
      subscription: { endpoint: sub.endpoint, expirationTime: null, keys: sub.keys },
      topics: ['politique'],
      timeZone: 'America/Martinique',
      // The key it was made with, so pushes to it are signed with that key (rotation).
      applicationServerKey: publicKey,
      // The page's language, for the notifications' texts.
      lang: 'fr',
    },
  ]);
  assert.equal(await r.scrollsSideways(), false, 'no sideways scrolling at 390 px');
  await r.page.screenshot({ path: artifact('alertes-telephone.png'), fullPage: true });

  // An alert on the reader's topic goes through the whole pipeline to the local push service;
  // the payload it decrypted is handed to Chromium as the push service would.
  const id = await publish({
    title: 'Remaniement : la nouvelle équipe est connue',
    body: 'Quatre ministres changent de portefeuille.',
    url: 'https://www.exemple.fr/politique/remaniement',
    topics: ['politique'],
  });
  await until(async () => received(sub).length === 1);
  await r.deliverPush(received(sub)[0].payload);
  const [shown, ...more] = await until(async () => {
    const n = await r.notifications();
    return n.length > 0 ? n : null;
  }, 15_000);
  assert.equal(more.length, 0);
  assert.equal(shown.title, 'Remaniement : la nouvelle équipe est connue');
  assert.equal(shown.body, 'Quatre ministres changent de portefeuille.');
  assert.equal(shown.tag, (received(sub)[0].json() as { tag: string }).tag, "the payload's tag");
  const receipt = (received(sub)[0].json() as { receipt: string }).receipt;
  assert.deepEqual(shown.data, { url: 'https://www.exemple.fr/politique/remaniement', id, tag: shown.tag, receipt });
  // Once the notification is on screen, the worker posts its receipt: `received` counts it.
  const report = async () => (await s.api('GET', `/api/alerts/${id}/report`, undefined, editor())).json.push;
  await until(async () => Number((await report()).received) === 1, 10_000);
  assert.equal(shown.icon, `${s.base}/static/icone-192.png`);

  // Clicking it opens the article and is counted in the alert's delivery figures.
  assert.equal((await s.alert(id)).delivery.push.clicked, 0);
  const click = await r.clickNotification();
  assert.deepEqual(click, { opened: ['https://www.exemple.fr/politique/remaniement'], remaining: 0 });
  await until(async () => (await s.alert(id)).delivery.push.clicked === 1, 10_000);
  // …through its receipt, posted as `clicked`: once, and never more than `received`.
  assert.deepEqual([Number((await report()).received), Number((await report()).clicked)], [1, 1]);

  // Change topics: Politique off, Sport on, saved with the same button.
  await r.page.getByLabel('Politique').uncheck();
  await r.page.getByLabel('Sport').check();
  await r.page.locator('#recevoir').click();
  await until(async () => (await said(r)).startsWith('C’est enregistré'), 20_000);
  assert.equal(await said(r), 'C’est enregistré : vous recevrez les alertes des thèmes choisis (Sport), ainsi que les alertes majeures.');
  await publish({ title: 'Vote de confiance ce soir', topics: ['politique'] });
  await publish({ title: 'Le XV de France qualifié', topics: ['sport'] });
  await until(async () => received(sub).length === 2);
  assert.deepEqual(
    received(sub).map((m) => (m.json() as { title: string }).title),
    ['Remaniement : la nouvelle équipe est connue', 'Le XV de France qualifié'],
  );

  // Coming back later: the page knows the reader is subscribed and shows their topics.
  await r.page.reload();
  await until(async () => (await said(r)).startsWith('Vous recevez nos alertes'), 20_000);
  assert.equal(await r.page.getByLabel('Sport').isChecked(), true);
  assert.equal(await r.page.getByLabel('Politique').isChecked(), false);

  // Unsubscribe: the API forgets the endpoint, the page says so, focus stays on the page's action.
  await r.page.locator('#desabonner').focus();
  await r.page.keyboard.press('Enter');
  await until(async () => (await said(r)).startsWith('Vous ne recevrez plus'), 20_000);
  assert.equal(await r.page.locator('#desabonner').isVisible(), false);
  assert.equal(await r.focused(), 'button:recevoir');
  assert.equal(await r.page.locator('#recevoir').textContent(), 'Recevoir les alertes');
  await publish({ title: 'Alerte pour tout le monde' });
  assert.equal(received(sub).length, 2);
  assert.deepEqual(r.problems, [], 'no script error and no CSP violation');
});

test(
  'a newer alert of the same story replaces the notification on screen (same tag); an unreadable push still shows something',
  T,
  async () => {
    const sub = s.push.newSubscriber();
    assert.equal(
      (await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: sub.endpoint, keys: sub.keys } })).status,
      201,
    );
    const r = await reader({ permission: 'granted' });
    await r.page.goto(`${s.base}/alertes`);
    await r.registerWorker();

    await publish({
      title: 'Combats au Haut-Karabakh',
      body: 'Au moins 10 morts.',
      url: 'https://www.exemple.fr/a',
      story: 'haut-karabakh',
    });
    const second = await publish({
      title: 'Combats au Haut-Karabakh',
      body: 'Au moins 32 morts.',
      url: 'https://www.exemple.fr/b',
      story: 'haut-karabakh',
    });
    await until(async () => received(sub).length === 2);
    await r.deliverPush(received(sub)[0].payload);
    await until(async () => (await r.notifications()).length === 1, 15_000);
    await r.deliverPush(received(sub)[1].payload);
    await until(async () => (await r.notifications())[0]?.body === 'Au moins 32 morts.', 15_000);
    const shown = await r.notifications();
    assert.equal(shown.length, 1, 'the update replaced the first notification');
    const receipt = (received(sub)[1].json() as { receipt: string }).receipt;
    assert.deepEqual(shown[0].data, { url: 'https://www.exemple.fr/b', id: second, tag: shown[0].tag, receipt });

    await r.deliverPush('pas du JSON');
    const all = await until(async () => {
      const n = await r.notifications();
      return n.length === 2 ? n : null;
    }, 15_000);
    assert.ok(all.some((n) => n.title === 'dépêche' && n.body === ''));
  },
);

test(
  'an update closes the older notification of its story even where the platform dropped its tag (as iOS does); a declarative payload shows the same way',
  T,
  async () => {
    const sub = s.push.newSubscriber();
    assert.equal(
      (await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: sub.endpoint, keys: sub.keys } })).status,
      201,
    );
    const r = await reader({ permission: 'granted' });
    await r.page.goto(`${s.base}/alertes`);
    await r.registerWorker();
    const id = await publish({ title: 'Séisme en Turquie', body: 'Bilan : 120 morts.', story: 'seisme-turquie' });
    await until(async () => received(sub).length === 1);
    const tag = (received(sub)[0].json() as { tag: string }).tag;
    // The first alert of the story as iOS leaves it: no tag on the notification, ours in its data.
    await r.showFromWorker('Séisme en Turquie', { body: 'Premier bilan : 40 morts.', data: { url: '', id, tag } });
    // And an unrelated notification, which must stay.
    await r.showFromWorker('Autre sujet', { body: 'Rien à voir.', tag: 'autre', data: { url: '', id: 'autre', tag: 'autre' } });
    assert.equal((await r.notifications()).length, 2);

    await r.deliverPush(received(sub)[0].payload);
    const shown = await until(async () => {
      const n = await r.notifications();
      return n.length === 2 && n.some((x) => x.body === 'Bilan : 120 morts.') ? n : null;
    }, 15_000);
    assert.deepEqual(shown.map((n) => n.body).sort(), ['Bilan : 120 morts.', 'Rien à voir.']);

    // The Declarative Web Push shape Apple subscriptions get: same story, so it replaces the update.
    const { title: _t, body: _b, tag: _g, ...ours } = received(sub)[0].json() as Record<string, unknown>;
    const declarative = {
      web_push: 8030,
      notification: {
        title: 'Séisme en Turquie',
        body: 'Bilan : 300 morts.',
        navigate: 'https://www.exemple.fr/s',
        lang: 'fr',
        dir: 'ltr',
        tag,
      },
      mutable: true,
      ...ours,
    };
    await r.deliverPush(JSON.stringify(declarative));
    const after = await until(async () => {
      const n = await r.notifications();
      return n.some((x) => x.body === 'Bilan : 300 morts.') ? n : null;
    }, 15_000);
    assert.deepEqual(after.map((n) => n.body).sort(), ['Bilan : 300 morts.', 'Rien à voir.']);
    const latest = after.find((n) => n.body === 'Bilan : 300 morts.')!;
    assert.equal(latest.title, 'Séisme en Turquie');
    // Our fields beside `notification` include the receipt: the worker reads it from either shape.
    assert.deepEqual(latest.data, { url: 'https://www.exemple.fr/s', id, tag, receipt: ours.receipt });
  },
);

test('in this Chromium the real pushManager.subscribe() fails: the page says so in French and nothing is stored', T, async () => {
  const r = await reader({ permission: 'granted' });
  const before = await pushIds();
  await r.page.goto(`${s.base}/alertes`);
  await r.page.getByLabel('Culture').check();
  await r.page.locator('#recevoir').click();
  await until(async () => (await status(r).getAttribute('class')) === 'error', 30_000);
  assert.equal(
    await said(r),
    'Votre navigateur n’a pas réussi à s’inscrire auprès de son service de notifications. Réessayez dans quelques instants ; si cela persiste, vérifiez votre connexion ou essayez un autre navigateur.',
  );
  await assertEnabled(r, '#recevoir');
  assert.equal(await r.page.locator('#desabonner').isVisible(), false);
  assert.equal(await pushIds(), before);
});

test('notifications blocked: the page explains how to allow them, before and after a click', T, async () => {
  const r = await reader({ permission: 'denied' });
  await r.fakePushManager(s.push.newSubscriber());
  const before = await pushIds();
  await r.page.goto(`${s.base}/alertes`);
  const denied =
    'Vous avez bloqué les notifications pour ce site. Pour recevoir nos alertes, autorisez-les dans les réglages du site de votre navigateur (en général, l’icône à gauche de l’adresse), puis réessayez.';
  await until(async () => (await said(r)) === denied, 15_000);
  await status(r).evaluate((el) => {
    (el as { textContent: string }).textContent = '';
  });
  await r.page.locator('#recevoir').click();
  await until(async () => (await said(r)) === denied, 15_000);
  assert.deepEqual(await r.subscribeCalls(), []);
  assert.equal(await pushIds(), before);
});

test('a browser without Web Push is told so and gets no active button', T, async () => {
  const r = await reader();
  await r.context.addInitScript(() => {
    delete (globalThis as { PushManager?: unknown }).PushManager;
  });
  await r.page.goto(`${s.base}/alertes`);
  await until(async () => (await said(r)).startsWith('Votre navigateur ne permet pas'), 15_000);
  assert.equal(await r.page.locator('#recevoir').isDisabled(), true);
});

test(
  'our API refusing the subscription (endpoint off the allowlist) gives a clear message and keeps the reader unsubscribed',
  T,
  async () => {
    const r = await reader({ permission: 'granted' });
    await r.fakePushManager({ id: 'x', endpoint: 'https://push.inconnu.example/abc', keys: s.push.newSubscriber().keys });
    const before = await pushIds();
    await r.page.goto(`${s.base}/alertes`);
    await r.page.locator('#recevoir').click();
    await until(async () => (await status(r).getAttribute('class')) === 'error', 20_000);
    assert.equal(await said(r), 'Nos serveurs n’ont pas pu enregistrer votre demande. Réessayez dans quelques instants.');
    assert.equal(await r.page.locator('#desabonner').isVisible(), false);
    assert.equal(await pushIds(), before);
  },
);

test('pushsubscriptionchange: the worker subscribes again with the same topics and the old endpoint is forgotten', T, async () => {
  const first = s.push.newSubscriber();
  const renewed = s.push.newSubscriber();
  const r = await reader({ permission: 'granted' });
  await r.fakePushManager(first);
  await r.page.goto(`${s.base}/alertes`);
  await r.page.getByLabel('Culture').check();
  await r.page.locator('#recevoir').click();
  await until(async () => (await said(r)).startsWith('C’est fait'), 20_000);

  // The browser renews the subscription. DevTools cannot fire the event, so it is dispatched in
  // the worker; its subscribe() yields a subscription of the local push service (this Chromium
  // cannot reach a real one). The worker's own handler does the rest.
  const sw = await r.serviceWorker();
  await sw.evaluate(
    async ({ old, renewed }) => {
      type Sub = { endpoint: string; toJSON(): unknown };
      const g = globalThis as unknown as {
        registration: { pushManager: { subscribe(o: unknown): Promise<Sub> } };
        ExtendableEvent: new (type: string) => object;
        dispatchEvent(e: object): boolean;
      };
      g.registration.pushManager.subscribe = async () => ({
        endpoint: renewed.endpoint,
        toJSON: () => ({ endpoint: renewed.endpoint, expirationTime: null, keys: renewed.keys }),
      });
      const event = new g.ExtendableEvent('pushsubscriptionchange');
      const pending: Promise<unknown>[] = [];
      Object.defineProperty(event, 'waitUntil', {
        value: (p: Promise<unknown>) => {
          pending.push(p);
        },
      });
      Object.defineProperty(event, 'oldSubscription', { value: { endpoint: old } });
      Object.defineProperty(event, 'newSubscription', { value: null });
      g.dispatchEvent(event);
      await Promise.all(pending);
    },
    { old: first.endpoint, renewed: { endpoint: renewed.endpoint, keys: renewed.keys } },
  );

  assert.equal(await s.app.domain.pushSubscribers.findId(first.endpoint), null, 'the old endpoint is forgotten');
  assert.notEqual(await s.app.domain.pushSubscribers.findId(renewed.endpoint), null);
  await publish({ title: 'Le Louvre rouvre ses portes', topics: ['culture'] });
  await publish({ title: 'Match nul au Parc', topics: ['sport'] });
  await until(async () => received(renewed).length === 1);
  assert.equal((received(renewed)[0].json() as { title: string }).title, 'Le Louvre rouvre ses portes');
  assert.equal(received(first).length, 0);
});

async function assertEnabled(r: Reader, selector: string): Promise<void> {
  await until(async () => r.page.locator(selector).isEnabled(), 15_000);
}

test('a visit with a subscription made with an older VAPID key replaces it with one on the current key and posts that key', T, async () => {
  const sub = s.push.newSubscriber();
  const r = await reader({ permission: 'granted' });
  await r.fakePushManager(sub);
  const posted: Record<string, unknown>[] = [];
  r.page.on('request', (req) => {
    if (req.url().endsWith('/api/subscriptions/push') && req.method() === 'POST')
      posted.push(req.postDataJSON() as Record<string, unknown>);
  });
  await r.page.goto(`${s.base}/alertes`);
  await r.page.locator('#recevoir').click();
  await until(async () => posted.length === 1, 20_000);
  // Since then the newsroom rotated its key: the browser's subscription was made with the old one.
  const oldKey = [...Buffer.from(webpush.generateVAPIDKeys().publicKey, 'base64url')];
  await r.page.evaluate((k) => {
    const store = (globalThis as unknown as { sessionStorage: { setItem(name: string, value: string): void } }).sessionStorage;
    store.setItem('fake-sub', JSON.stringify(k));
    store.setItem('fake-calls', '[]');
  }, oldKey);
  posted.length = 0;
  await r.page.reload();
  const publicKey = String((await s.api('GET', '/api/push/public-key')).json.publicKey);
  await until(async () => posted.some((p) => p.applicationServerKey === publicKey), 20_000);
  assert.deepEqual(await r.subscribeCalls(), [{ userVisibleOnly: true, key: publicKey }], 'subscribed again, with the current key');
  assert.ok(
    posted.every((p) => p.applicationServerKey === publicKey),
    'the old key was never posted',
  );
  assert.deepEqual(r.problems, []);
});
