// dépêche's service worker: shows each alert as a notification, opens the article when it is
// clicked (and tells us, for the click figures), and re-subscribes when the browser renews the
// push subscription. Served at /sw-core.js and imported by the one-line /sw.js (scope /).
'use strict';

// Our origin: '' when our own /sw.js imported this, else our address (a news site's one-line
// worker). The server writes DEPECHE_BASE above this file (src/http/routes/reader.ts says why).
const BASE = typeof self.DEPECHE_BASE === 'string' ? self.DEPECHE_BASE : '';

importScripts(`${BASE}/static/commun.js`);

const ICON = `${BASE}/static/icone-192.png`;
const BADGE = `${BASE}/static/badge-96.png`;
const ALERT_ID = /^[a-z0-9]{8,40}$/;
const RECEIPT = /^[A-Za-z0-9._-]{20,80}$/;
// « Réglages » leads to our subscribe page (on our origin, also from a site-hosted worker); « Lire » to the article.
const SETTINGS_PAGE = `${BASE}/alertes`;
const ACTIONS = [
  { action: 'lire', title: 'Lire' },
  { action: 'reglages', title: 'Réglages' },
];

self.addEventListener('install', () => {
  self.skipWaiting();
});
self.addEventListener('activate', (event) => {
  event.waitUntil(Promise.allSettled([self.clients.claim(), renewKey()]));
});

// After a VAPID key rotation, a subscription made with the old key works only as long as the old
// key is kept (VAPID_PREVIOUS_KEYS): the worker replaces it by itself, without waiting for the
// reader to come back to the page. Never lets a failure escape: the push shows anyway.
async function renewKey() {
  try {
    const sub = await self.registration.pushManager.getSubscription();
    if (!sub) return;
    const choices = (await self.depeche.prefs.read()) || { topics: [] };
    await self.depeche.renewIfKeyChanged(self.registration.pushManager, sub, choices);
  } catch {
    /* tried again at the next push or activation */
  }
}

// Each push says which key is current (`key`: the start of our public key): only a worker whose
// subscription was made with another key asks our API, so a push costs no request otherwise.
async function renewIfStale(p) {
  if (typeof p.key !== 'string' || !p.key) return;
  try {
    const sub = await self.registration.pushManager.getSubscription();
    const mine = sub && self.depeche.keyOf(sub);
    if (mine && !mine.startsWith(p.key)) await renewKey();
  } catch {
    /* the next push tries again */
  }
}

function readPayload(data) {
  try {
    return ourFields((data && data.json()) || {});
  } catch {
    return {};
  }
}

// Declarative Web Push (Safari 18.4+, "web_push": 8030): the notification is described in
// `notification`, our own fields sit beside it (or in its `data`). Safari shows it by itself when
// this worker is gone; when the worker runs, the push comes here and both shapes read the same.
function ourFields(p) {
  if (!p || p.web_push !== 8030 || !p.notification || typeof p.notification !== 'object') return p || {};
  const n = p.notification;
  const d = { ...p, ...(n.data && typeof n.data === 'object' ? n.data : {}) };
  return {
    ...d,
    title: n.title,
    body: n.body,
    tag: n.tag,
    image: n.image,
    url: typeof d.url === 'string' && d.url ? d.url : n.navigate,
  };
}

// Only an https picture is shown; the buttons are always ours, whatever the payload says.
function imageOf(p) {
  try {
    return typeof p.image === 'string' && new URL(p.image).protocol === 'https:' ? p.image : '';
  } catch {
    return '';
  }
}

// iOS ignores `tag`: an update would pile up beside the alert it updates. So the worker closes the
// earlier notifications of the story itself (found by tag, or by the tag kept in their data where
// the platform dropped it) before showing the new one. Tidying must never cost the notification.
async function closeEarlier(tag) {
  if (!tag) return;
  try {
    const shown = await self.registration.getNotifications();
    for (const n of shown) if (n.tag === tag || (n.data && n.data.tag === tag)) n.close();
  } catch {
    /* show the update anyway */
  }
}

function notificationOf(p) {
  // A push must always show something (userVisibleOnly), even one we cannot read.
  const title = typeof p.title === 'string' && p.title ? p.title : 'dépêche';
  // Same tag, same notification: an update of a story replaces the earlier one on screen.
  const tag = typeof p.tag === 'string' && p.tag ? p.tag : typeof p.id === 'string' ? p.id : '';
  const options = {
    body: typeof p.body === 'string' ? p.body : '',
    icon: ICON,
    badge: BADGE,
    lang: typeof p.lang === 'string' && /^[a-z]{2}$/.test(p.lang) ? p.lang : 'fr',
    data: {
      url: typeof p.url === 'string' ? p.url : '',
      id: typeof p.id === 'string' ? p.id : '',
      tag,
      receipt: typeof p.receipt === 'string' ? p.receipt : '',
    },
  };
  if (tag) {
    options.tag = tag;
    options.renotify = true;
  }
  const image = imageOf(p);
  if (image) options.image = image;
  options.actions = ACTIONS;
  const sentAt = Date.parse(p.sentAt);
  if (!Number.isNaN(sentAt)) options.timestamp = sentAt;
  return { title, options };
}

// Every push shows a notification, whatever goes wrong: a push that shows none is a "silent push",
// and iOS revokes the subscription of a site that sends them.
async function show(p) {
  let n;
  try {
    n = notificationOf(p);
    await closeEarlier(n.options.tag);
    await self.registration.showNotification(n.title, n.options);
  } catch {
    await self.registration.showNotification(n ? n.title : 'dépêche', { body: '', icon: ICON, badge: BADGE, lang: 'fr' });
  }
}

self.addEventListener('push', (event) => {
  const p = readPayload(event.data);
  // The receipt goes once the notification is on screen; a lost one only costs a figure.
  event.waitUntil(
    show(p)
      .then(() => postReceipt(typeof p.receipt === 'string' ? p.receipt : '', 'received').catch(() => {}))
      .then(() => renewIfStale(p)),
  );
});

// text/plain, like navigator.sendBeacon: no preflight even when the API is on another origin.
function postReceipt(receipt, event) {
  if (!RECEIPT.test(receipt || '')) return Promise.resolve();
  return fetch(`${BASE}/api/receipts`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    body: JSON.stringify({ receipt, event }),
    credentials: 'omit',
    keepalive: true,
  });
}

async function openPage(url) {
  let target = '/';
  try {
    const u = new URL(url || '/', self.location.origin);
    if (u.protocol === 'https:' || u.protocol === 'http:') target = u.href;
  } catch {
    /* keep the home page */
  }
  const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const same = open.find((c) => c.url === target);
  return same ? same.focus() : self.clients.openWindow(target);
}

function reportClick(id, receipt) {
  if (RECEIPT.test(receipt || '')) return postReceipt(receipt, 'clicked');
  // A notification shown before receipts existed: the older, per-alert click report.
  if (!ALERT_ID.test(id || '')) return Promise.resolve();
  return fetch(`${BASE}/api/alerts/${id}/click`, { method: 'POST', credentials: 'omit', keepalive: true });
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  // « Réglages » is not a read: it opens the subscribe page and counts no click.
  if (event.action === 'reglages') {
    event.waitUntil(openPage(SETTINGS_PAGE).catch(() => {}));
    return;
  }
  // The notification itself or « Lire ». Each on its own: a refused window must not lose the
  // click, nor a lost report the article.
  event.waitUntil(Promise.allSettled([openPage(data.url), reportClick(data.id, data.receipt)]));
});

// The push service renewed or dropped our subscription: subscribe again with the reader's topics
// and tell our API, so alerts keep arriving without the reader coming back to the page. The old
// subscription, when the browser still gives it, is replaced in the same call (its auth secret
// proves it is ours); without it, the old endpoint expires at its next push (404/410).
async function resubscribe(oldSubscription, newSubscription) {
  const prefs = (await self.depeche.prefs.read()) || { topics: [] };
  let sub = newSubscription;
  if (!sub) {
    const applicationServerKey = await self.depeche.applicationServerKey();
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  }
  const moved = oldSubscription && oldSubscription.endpoint !== sub.endpoint;
  const old = moved ? self.depeche.proofOf(oldSubscription) : undefined;
  await self.depeche.saveSubscription(sub, prefs.topics, prefs.quiet, old);
  if (moved && !old) await self.depeche.forgetEndpoint(oldSubscription.endpoint).catch(() => {});
}

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});
