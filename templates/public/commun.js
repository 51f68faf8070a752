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
   * browser's clock, hence its time zone.
   */
  function saveSubscription(subscription, topics, quietHours) {
    const body = { subscription: subscription.toJSON(), topics };
    // The key it was made with, so every push to it is signed with that key (key rotation).
    const key = keyOf(subscription);
    if (key) body.applicationServerKey = key;
    const tz = timeZone();
    if (tz) body.timeZone = tz;
    if (quietHours) body.quietHours = quietHours;
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

  global.depeche = { prefs, applicationServerKey, saveSubscription, forgetEndpoint, ApiFailure };
})(self);
