// Shared by the subscribe page (a <script>) and the service worker (importScripts): the reader's
// choices kept in IndexedDB, which both can reach (localStorage is out of a worker's reach), and
// the calls to our API that both make. Every browser able to receive Web Push runs this syntax.
'use strict';

(function (global) {
  const DB = 'depeche';
  const STORE = 'reglages';
  const KEY = 'abonnement';
  // Our API's origin: set by the server for the service worker imported on a news site's origin
  // (see sw-core.js); absent on our own pages, where relative URLs are ours.
  const BASE = typeof global.DEPECHE_BASE === 'string' ? global.DEPECHE_BASE : '';

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function withStore(mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => {
        db.close();
        resolve(req.result);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error);
      };
    });
  }

  /** The reader's choices, { topics: string[], quiet?: string }, or null before the first subscription. */
  const prefs = {
    read: async () => (await withStore('readonly', (s) => s.get(KEY))) || null,
    write: (v) => withStore('readwrite', (s) => s.put(v, KEY)),
    clear: () => withStore('readwrite', (s) => s.delete(KEY)),
  };

  /** Our API answered with an error status, or could not be reached (status 0). */
  class ApiFailure extends Error {
    constructor(status) {
      super(`HTTP ${status}`);
      this.name = 'ApiFailure';
      this.status = status;
    }
  }

  async function call(method, path, body) {
    let res;
    try {
      res = await fetch(BASE + path, {
        method,
        credentials: 'omit',
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiFailure(0);
    }
    if (!res.ok) throw new ApiFailure(res.status);
    return res.status === 204 ? null : res.json();
  }

  /** The VAPID public key as the bytes pushManager.subscribe() wants. */
  async function applicationServerKey() {
    const { publicKey } = await call('GET', '/api/push/public-key');
    const b64 = publicKey.replace(/-/g, '+').replace(/_/g, '/');
    const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function timeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Sends the browser's subscription with the chosen topics and quiet window ("22:00-08:00", or
   * none for the newsroom's); the same endpoint again is an update. Quiet hours follow the
   * browser's clock, hence its time zone. `replaces`: the subscription it takes over from, as
   * { endpoint, auth } (its keys.auth proves it is ours); our API moves the reader over in one call.
   */
  function saveSubscription(subscription, topics, quietHours, replaces) {
    const body = { subscription: subscription.toJSON(), topics };
    if (replaces && replaces.endpoint && replaces.auth) body.replaces = { endpoint: replaces.endpoint, auth: replaces.auth };
    // The key it was made with, so every push to it is signed with that key (key rotation).
    const key = keyOf(subscription);
    if (key) body.applicationServerKey = key;
    const tz = timeZone();
    if (tz) body.timeZone = tz;
    if (quietHours) body.quietHours = quietHours;
    // The page's language (fr, en) for the notifications; a worker has no page: the API keeps the
    // language it holds for the subscription it replaces.
    const lang = typeof document !== 'undefined' ? document.documentElement.lang : '';
    if (lang === 'fr' || lang === 'en') body.lang = lang;
    return call('POST', '/api/subscriptions/push', body);
  }

  /** The VAPID key a subscription was made with, base64url; undefined when the browser hides it. */
  function keyOf(subscription) {
    const raw = subscription.options && subscription.options.applicationServerKey;
    if (!raw) return undefined;
    let bin = '';
    for (const b of new Uint8Array(raw)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function forgetEndpoint(endpoint) {
    return call('DELETE', '/api/subscriptions/push', { endpoint });
  }

  /** Whether a subscription's key (an ArrayBuffer) is `key` (bytes); true when the browser hides it. */
  function sameKey(raw, key) {
    if (!raw || !key) return true; // cannot tell: keep the subscription we have
    const x = new Uint8Array(raw);
    return x.length === key.length && x.every((v, i) => v === key[i]);
  }

  /** What proves an old subscription is this browser's: its endpoint and auth secret. */
  function proofOf(subscription) {
    const json = subscription && subscription.toJSON ? subscription.toJSON() : subscription;
    return json && json.endpoint && json.keys && json.keys.auth ? { endpoint: json.endpoint, auth: json.keys.auth } : undefined;
  }

  /**
   * When `subscription` was made with another VAPID key than ours now (a key rotation), the
   * browser unsubscribes it, subscribes with the current key, and our API swaps the endpoints in
   * one call, keeping the reader's topics. Resolves with the subscription in use.
   */
  async function renewIfKeyChanged(pushManager, subscription, choices) {
    const key = await applicationServerKey();
    if (!subscription || sameKey(subscription.options && subscription.options.applicationServerKey, key)) return subscription;
    const old = proofOf(subscription);
    // One subscription per worker: the old one must go before another key can be used.
    await subscription.unsubscribe().catch(() => {});
    const next = await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const c = choices || { topics: [] };
    await saveSubscription(next, c.topics || [], c.quiet, old);
    return next;
  }

  global.depeche = {
    prefs,
    applicationServerKey,
    saveSubscription,
    forgetEndpoint,
    sameKey,
    proofOf,
    keyOf,
    renewIfKeyChanged,
    ApiFailure,
  };
})(self);
