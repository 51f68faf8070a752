// Rich notifications and the worker's own re-subscription, in real headless Chromium against the
// real app. The stack runs as after a key rotation: a new VAPID key, the old one kept in
// VAPID_PREVIOUS_KEYS. A notification shows the alert's image and the buttons « Lire » and
// « Réglages », each opening its page; a worker whose subscription was made with the old key
// sees it in the next push (`key`), subscribes again with the current key and swaps the endpoints
// in one call to our API. This Chromium cannot reach a push service, so inside the worker the
// pushManager hands out subscriptions of the local push service (as in browser.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import webpush from 'web-push';
import { startStack, editor, until, type Stack } from './support/stack';
import { launchChromium, Reader } from './support/browser';
import type { TestSubscriber } from './support/push-service';

const T = { timeout: 90_000 };
const oldKey = webpush.generateVAPIDKeys();
const newKey = webpush.generateVAPIDKeys();
const IMAGE = 'https://images.exemple.fr/2026/11/louvre.jpg';
let s: Stack;
let browser: Browser;
const readers: Reader[] = [];

before(
  async () => {
    s = await startStack({
      PAGE_TOPICS: 'politique:Politique,sport:Sport,culture:Culture',
      VAPID_PUBLIC_KEY: newKey.publicKey,
      VAPID_PRIVATE_KEY: newKey.privateKey,
      VAPID_PREVIOUS_KEYS: `${oldKey.publicKey}:${oldKey.privateKey}`,
    });
    browser = await launchChromium();
  },
  { timeout: 120_000 },
);

after(async () => {
  for (const r of readers) await r.close().catch(() => {});
  await browser?.close();
  await s?.stop();
});

async function reader(): Promise<Reader> {
  const r = await Reader.open(browser, s.base, { permission: 'granted' });
  readers.push(r);
  await r.page.goto(`${s.base}/alertes`);
  await r.registerWorker();
  return r;
}

const received = (sub: TestSubscriber) => s.push.messages.filter((m) => m.subscriberId === sub.id);

async function subscribe(sub: TestSubscriber, key: string, topics: string[]): Promise<void> {
  const r = await s.api('POST', '/api/subscriptions/push', {
    subscription: { endpoint: sub.endpoint, keys: sub.keys },
    topics,
    applicationServerKey: key,
  });
  assert.equal(r.status, 201, r.text);
}

async function publish(body: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  await s.delivered(id, 15_000);
  return id;
}

interface Shown {
  title: string;
  image: string;
  actions: { action: string; title: string }[];
}

test(
  'a notification shows the image and the two buttons: « Réglages » opens /alertes (no click counted), « Lire » the article',
  T,
  async () => {
    const sub = s.push.newSubscriber();
    await subscribe(sub, newKey.publicKey, ['politique']);
    const r = await reader();
    const id = await publish({
      title: 'Le Louvre rouvre',
      body: 'Après trois mois de travaux.',
      url: 'https://www.exemple.fr/culture/louvre',
      image: IMAGE,
      topics: ['politique'],
    });
    await until(async () => received(sub).length === 1);
    const payload = received(sub)[0].payload;
    await r.deliverPush(payload);
    const shown = await until(async () => {
      const list = await r.page.evaluate(async () => {
        type N = { title: string; image: string; actions: { action: string; title: string }[] };
        const g = globalThis as unknown as { navigator: { serviceWorker: { ready: Promise<{ getNotifications(): Promise<N[]> }> } } };
        const reg = await g.navigator.serviceWorker.ready;
        return (await reg.getNotifications()).map((n) => ({
          title: n.title,
          image: n.image,
          actions: n.actions.map((a) => ({ action: a.action, title: a.title })),
        }));
      });
      return list.length === 1 ? list[0] : null;
    }, 15_000);
    assert.deepEqual(shown, {
      title: 'Le Louvre rouvre',
      image: IMAGE,
      actions: [
        { action: 'lire', title: 'Lire' },
        { action: 'reglages', title: 'Réglages' },
      ],
    } satisfies Shown);

    // « Réglages »: our subscribe page, on our own origin; reading nothing, it counts no click. (The
    // tab leaves /alertes first: a window already there would be focused instead of opened.)
    await r.page.goto(`${s.base}/api/health`);
    assert.deepEqual(await r.clickNotification('reglages'), { opened: [`${s.base}/alertes`], remaining: 0 });
    // The click's handler has finished (its waitUntil settled): a click report would be counted by now.
    assert.equal((await s.alert(id)).delivery.push.clicked, 0);
    // « Lire »: the article, and the click is counted, as for a click on the notification itself.
    await r.deliverPush(payload);
    await until(async () => (await r.notifications()).length === 1, 15_000);
    assert.deepEqual(await r.clickNotification('lire'), { opened: ['https://www.exemple.fr/culture/louvre'], remaining: 0 });
    await until(async () => (await s.alert(id)).delivery.push.clicked === 1, 10_000);
    // (The health page has no favicon: its 404 is the browser's, not a script's.)
    assert.deepEqual(
      r.problems.filter((p) => p.startsWith('page error')),
      [],
    );
  },
);

test(
  'a worker whose subscription was made with the old key re-subscribes with the current one at the next push, in one call: old endpoint gone, topics kept',
  T,
  async () => {
    const old = s.push.newSubscriber({ applicationServerKey: oldKey.publicKey });
    const renewed = s.push.newSubscriber({ applicationServerKey: newKey.publicKey });
    await subscribe(old, oldKey.publicKey, ['culture']);
    const oldId = await s.app.domain.pushSubscribers.findId(old.endpoint);
    assert.notEqual(oldId, null);
    const r = await reader();

    // The worker's pushManager as the browser would have it: the subscription made with the old
    // key; subscribe() yields one of the local push service (bound to the key it is given).
    const sw = await r.serviceWorker();
    await sw.evaluate(
      ({ old, renewed, oldKeyBytes }) => {
        type Sub = { endpoint: string; options: { applicationServerKey: ArrayBuffer }; toJSON(): unknown; unsubscribe(): Promise<boolean> };
        const g = globalThis as unknown as {
          registration: {
            pushManager: { subscribe(o: { applicationServerKey: Uint8Array }): Promise<Sub>; getSubscription(): Promise<Sub | null> };
          };
          calls: string[];
          requests: { method: string; url: string; body: unknown }[];
          fetch: (url: string, init?: { method?: string; body?: string }) => Promise<unknown>;
        };
        g.calls = [];
        // What the worker asks our API, in order (the real fetch still answers).
        g.requests = [];
        const realFetch = g.fetch.bind(g);
        g.fetch = (url, init) => {
          g.requests.push({
            method: init?.method ?? 'GET',
            url,
            body: init?.body ? (JSON.parse(init.body) as unknown) : null,
          });
          return realFetch(url, init);
        };
        const make = (s: { endpoint: string; keys: unknown }, key: ArrayBuffer): Sub => ({
          endpoint: s.endpoint,
          options: { applicationServerKey: key },
          toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: s.keys }),
          unsubscribe: async () => {
            g.calls.push(`unsubscribe ${s.endpoint}`);
            current = null;
            return true;
          },
        });
        let current: Sub | null = make(old, new Uint8Array(oldKeyBytes).buffer);
        g.registration.pushManager.getSubscription = async () => current;
        g.registration.pushManager.subscribe = async (o) => {
          g.calls.push(`subscribe ${Array.from(o.applicationServerKey).join(',')}`);
          current = make(renewed, new Uint8Array(o.applicationServerKey).buffer);
          return current;
        };
      },
      {
        old: { endpoint: old.endpoint, keys: old.keys },
        renewed: { endpoint: renewed.endpoint, keys: renewed.keys },
        oldKeyBytes: [...Buffer.from(oldKey.publicKey, 'base64url')],
      },
    );

    // Signed with the old key (the push service checks), the alert says which key is current now.
    await publish({ title: 'Vernissage ce soir', topics: ['culture'] });
    await until(async () => received(old).length === 1);
    await r.deliverPush(received(old)[0].payload);
    await until(async () => (await s.app.domain.pushSubscribers.findId(old.endpoint)) === null, 20_000);

    const calls = await sw.evaluate(() => (globalThis as unknown as { calls: string[] }).calls);
    assert.deepEqual(calls, [`unsubscribe ${old.endpoint}`, `subscribe ${[...Buffer.from(newKey.publicKey, 'base64url')].join(',')}`]);
    // One call swapped them: the new subscription, naming the old one with its auth as proof.
    const requests = await sw.evaluate(
      () => (globalThis as unknown as { requests: { method: string; url: string; body: unknown }[] }).requests,
    );
    const writes = requests.filter((q) => q.url.includes('/api/subscriptions'));
    assert.deepEqual(
      writes.map((q) => [q.method, new URL(q.url, s.base).pathname, (q.body as { replaces?: unknown }).replaces]),
      [['POST', '/api/subscriptions/push', { endpoint: old.endpoint, auth: old.keys.auth }]],
    );
    const newId = await s.app.domain.pushSubscribers.findId(renewed.endpoint);
    assert.notEqual(newId, null, 'the new endpoint is stored');
    const keys = await s.app.domain.pushKeys.keysOf([newId!]);
    assert.equal(keys.get(newId!), newKey.publicKey, 'recorded on the current key');

    // The next culture alert reaches the new endpoint (signed with the new key), not the old one; sport does not.
    await publish({ title: 'Le Louvre prolonge son exposition', topics: ['culture'] });
    await publish({ title: 'Match nul', topics: ['sport'] });
    await until(async () => received(renewed).length === 1);
    assert.equal((received(renewed)[0].json() as { title: string }).title, 'Le Louvre prolonge son exposition');
    assert.equal(received(old).length, 1);
    assert.equal(s.push.rejections.length, 0, JSON.stringify(s.push.rejections));
  },
);

test('pushsubscriptionchange with the old subscription at hand: one call replaces it, proven by its auth, topics kept', T, async () => {
  const old = s.push.newSubscriber();
  const renewed = s.push.newSubscriber();
  await subscribe(old, newKey.publicKey, ['sport']);
  const r = await reader();
  // The reader's choices, as the page keeps them for the worker.
  await r.page.evaluate(() =>
    (globalThis as unknown as { depeche: { prefs: { write(v: unknown): Promise<void> } } }).depeche.prefs.write({ topics: ['sport'] }),
  );
  const sw = await r.serviceWorker();
  const writes = await sw.evaluate(
    async ({ old, renewed }) => {
      type Sub = { endpoint: string; toJSON(): unknown };
      const g = globalThis as unknown as {
        registration: { pushManager: { subscribe(o: unknown): Promise<Sub> } };
        ExtendableEvent: new (type: string) => object;
        dispatchEvent(e: object): boolean;
        fetch: (url: string, init?: { method?: string; body?: string }) => Promise<unknown>;
      };
      const seen: { method: string; url: string; body: unknown }[] = [];
      const realFetch = g.fetch.bind(g);
      g.fetch = (url, init) => {
        seen.push({ method: init?.method ?? 'GET', url, body: init?.body ? (JSON.parse(init.body) as unknown) : null });
        return realFetch(url, init);
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
      const oldSub = { endpoint: old.endpoint, toJSON: () => ({ endpoint: old.endpoint, expirationTime: null, keys: old.keys }) };
      Object.defineProperty(event, 'oldSubscription', { value: oldSub });
      Object.defineProperty(event, 'newSubscription', { value: null });
      g.dispatchEvent(event);
      await Promise.all(pending);
      return seen.filter((q) => q.url.includes('/api/subscriptions'));
    },
    { old: { endpoint: old.endpoint, keys: old.keys }, renewed: { endpoint: renewed.endpoint, keys: renewed.keys } },
  );
  assert.deepEqual(
    writes.map((q) => [q.method, (q.body as { replaces?: unknown }).replaces]),
    [['POST', { endpoint: old.endpoint, auth: old.keys.auth }]],
  );
  assert.equal(await s.app.domain.pushSubscribers.findId(old.endpoint), null, 'the old endpoint is forgotten');
  await publish({ title: 'Finale ce soir', topics: ['sport'] });
  await until(async () => received(renewed).length === 1);
  assert.equal(received(old).length, 0);
});
