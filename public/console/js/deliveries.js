// @ts-check
// Delivery figures: one card per alert with a bar per channel, kept current by the server's
// event stream (GET /api/events), and the history below it.
import { $, h, plural, when } from './dom.js';
import { api, signedOut } from './api.js';
import { ctrText, withinText } from './report.js';

/**
 * @typedef {{ targeted: number, sent: number, failed: number, expired?: number, bounced?: number, complained?: number, clicked?: number, alarm?: { service: string, message: string }[] }} ChannelDelivery
 * @typedef {{ rev: number, kind: string, title: string, body: string, createdAt: string, createdBy: string, status: string,
 *   publishAt?: string, heldUntil?: string, delivery: Record<string, ChannelDelivery>, pending: Record<string, number> }} RevisionView
 * @typedef {{ id: string, rev: number, kind?: string, title: string, body: string, url?: string, story?: string, topics: string[],
 *   urgency: string, channels: string[], createdAt: string, createdBy: string, status: string, flash?: boolean, lane?: string,
 *   publishAt?: string, heldUntil?: string, approval?: { audience: number, approvedBy?: string },
 *   delivery: Record<string, ChannelDelivery>, pending?: Record<string, number>, revisions?: RevisionView[], report?: ReportSummary }} AlertView
 * @typedef {{ targetSeconds: number, push: { withinTarget: number|null, received: number, clicked: number, ctr: number|null },
 *   email: { withinTarget: number|null, clicked: number, ctr: number|null } }} ReportSummary
 */

/** @type {Record<string, string>} */
export const STATUS = {
  queued: 'En file',
  sending: 'Envoi en cours',
  delivered: 'Terminé',
  cancelled: 'Annulé',
  scheduled: 'Programmé',
  held: 'En attente',
  awaiting_approval: 'À approuver',
  superseded: 'Remplacée',
};
/** @type {Record<string, string>} */
export const KIND = { original: 'Alerte', update: 'Mise à jour', correction: 'Rectificatif', test: 'Test' };

const clock = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' });

/** « dans 1 h 05 min », « dans 4 min 12 s », « dans 9 s ». @param {number} ms */
export function countdown(ms) {
  if (ms <= 0) return 'imminent';
  const s = Math.ceil(ms / 1000);
  const [hours, minutes, seconds] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (hours > 0) return `dans ${hours}\u00a0h\u00a0${String(minutes).padStart(2, '0')}\u00a0min`;
  return minutes > 0 ? `dans ${minutes}\u00a0min\u00a0${seconds}\u00a0s` : `dans ${seconds}\u00a0s`;
}

/** The status as an editor reads it, with the countdown of a scheduled alert. @param {AlertView} a @param {number} [now] */
export function statusText(a, now = Date.now()) {
  const base = STATUS[a.status] ?? a.status;
  if (a.status === 'scheduled' && a.publishAt) return `${base} · ${countdown(Date.parse(a.publishAt) - now)}`;
  if (a.status === 'held' && a.heldUntil) return `${base} · jusqu’à ${clock.format(new Date(a.heldUntil))}`;
  return base;
}

/** Statuses whose text changes with time alone. @param {AlertView} a */
export const ticking = (a) => a.status === 'scheduled';
/** @type {Record<string, string>} */
export const CHANNEL = { push: 'Push', email: 'Courriel' };
/** The delivery lane chosen at publish: flashes and small urgent alerts go ahead of queued sends. @type {Record<string, string>} */
export const LANE = { flash: 'File prioritaire', normal: 'File normale' };
/** @type {Record<string, string>} */
export const URGENCY = { high: 'Haute', normal: 'Normale', low: 'Basse', 'very-low': 'Très basse' };

/**
 * Recipients who will get nothing more: the subscription has gone (push `expired`) or the
 * address bounced for good (email `bounced`). @param {ChannelDelivery} d
 */
const gone = (d) => (d.expired ?? 0) + (d.bounced ?? 0);

/** Share of the audience whose outcome is known, 0–100. @param {ChannelDelivery} d @param {string} status */
export function percentDone(d, status) {
  const settled = d.sent + d.failed + gone(d);
  if (d.targeted === 0) return status === 'delivered' ? 100 : 0;
  return Math.min(100, Math.floor((settled / d.targeted) * 100));
}

/**
 * A channel's bar: sent, failed and expired as segments of the targeted audience. Built once and
 * updated in place, so the segments slide (CSS transition) instead of being redrawn.
 * @param {string} channel
 */
export function channelBar(channel) {
  const seg = (/** @type {string} */ kind) => h('span', { class: `seg ${kind}` });
  const segs = { sent: seg('sent'), failed: seg('failed'), expired: seg('expired') };
  const bar = h(
    'div',
    {
      class: 'bar',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-label': `Progression ${CHANNEL[channel] ?? channel}`,
    },
    segs.sent,
    segs.failed,
    segs.expired,
  );
  const figures = h('p', { class: 'figures' });
  // Over a fifth of one push service refusing us with 401/403: our key, not the readers.
  const alarm = h('p', { class: 'alarm', role: 'alert', hidden: true });
  const el = h(
    'div',
    { class: 'channel', 'data-channel': channel },
    h('span', { class: 'channel-name' }, CHANNEL[channel] ?? channel),
    bar,
    figures,
    alarm,
  );
  return {
    el,
    /** @param {ChannelDelivery} d @param {string} status */
    update(d, status) {
      const pct = percentDone(d, status);
      const share = (/** @type {number} */ n) => (d.targeted > 0 ? `${(n / d.targeted) * 100}%` : '0%');
      segs.sent.style.width = share(d.sent);
      segs.failed.style.width = share(d.failed);
      segs.expired.style.width = share(gone(d));
      bar.setAttribute('aria-valuenow', String(pct));
      bar.setAttribute('aria-valuetext', `${pct}\u202f% traités`);
      el.dataset.percent = String(pct);
      const parts = [
        plural(d.targeted, 'ciblé', 'ciblés'),
        plural(d.sent, 'envoyé', 'envoyés'),
        plural(d.failed, 'échec', 'échecs'),
        ...(d.expired !== undefined ? [plural(d.expired, 'expiré', 'expirés')] : []),
        ...(d.bounced !== undefined ? [plural(d.bounced, 'rejeté', 'rejetés')] : []),
        // Reported later by the reader's mailbox (« indésirable »): a sign to watch, not a failure.
        ...(d.complained ? [plural(d.complained, 'plainte', 'plaintes')] : []),
        ...(d.clicked !== undefined ? [plural(d.clicked, 'clic', 'clics')] : []),
        `${pct}\u202f%`,
      ];
      figures.textContent = parts.join(' · ');
      const alarms = (d.alarm ?? []).map((a) => a.message);
      alarm.hidden = alarms.length === 0;
      alarm.textContent = alarms.join(' ');
    },
  };
}

/** One alert's card in the list. @param {AlertView} a */
function alertCard(a) {
  const title = h('a', { href: `#/alerte/${a.id}`, class: 'alert-title' });
  const meta = h('p', { class: 'meta' });
  const speed = h('p', { class: 'speed' });
  const status = h('span', { class: 'status' });
  const lane = h('span', { class: 'lane' });
  const bars = new Map(a.channels.map((ch) => [ch, channelBar(ch)]));
  const el = h(
    'li',
    { class: 'alert-card', 'data-id': a.id },
    h('div', { class: 'card-head' }, title, h('span', { class: 'badges' }, lane, status)),
    meta,
    ...[...bars.values()].map((b) => b.el),
    speed,
  );
  return {
    el,
    /** @param {AlertView} v */
    update(v) {
      title.textContent = v.kind && v.kind !== 'original' ? `${KIND[v.kind] ?? v.kind} · ${v.title}` : v.title;
      status.textContent = statusText(v);
      el.dataset.status = v.status;
      lane.textContent = LANE[v.lane ?? 'normal'] ?? v.lane ?? '';
      el.dataset.lane = v.lane ?? 'normal';
      const topics = v.topics.length ? v.topics.join(', ') : 'toutes rubriques';
      meta.textContent = `${when(v.createdAt)} · ${topics} · par ${v.createdBy}`;
      for (const [ch, bar] of bars) bar.update(v.delivery[ch] ?? { targeted: 0, sent: 0, failed: 0 }, v.status);
      // « Push : 93 % en moins de 2 min · CTR 4,1 % », per channel that has figures.
      const r = v.report;
      const parts = r
        ? /** @type {const} */ (['push', 'email'])
            .filter((ch) => v.channels.includes(ch))
            .map((ch) => {
              const text = [withinText(r[ch].withinTarget, r.targetSeconds), ctrText(r[ch].ctr)].filter(Boolean).join(' · ');
              return text ? `${CHANNEL[ch]} : ${text}` : '';
            })
            .filter(Boolean)
        : [];
      speed.textContent = parts.join(' — ');
      speed.hidden = parts.length === 0;
    },
  };
}

/** The list of alerts, newest first, fed by the history and the live stream. */
export class Deliveries {
  constructor() {
    /** @type {Map<string, AlertView>} */
    this.alerts = new Map();
    /** @type {Map<string, ReturnType<typeof alertCard>>} */
    this.cards = new Map();
    /** @type {Set<(a: AlertView) => void>} */
    this.listeners = new Set();
    /** @type {EventSource | null} */
    this.stream = null;
    this.list = $('#alert-list');
    this.list.replaceChildren();
    $('#more', document, HTMLButtonElement).onclick = () => {
      void this.loadOlder();
    };
    // Scheduled alerts count down every second without waiting for new figures.
    this.clock = setInterval(() => {
      for (const [id, a] of this.alerts) if (ticking(a)) this.cards.get(id)?.update(a);
    }, 1000);
  }

  /** Opens the live stream first, then reads the history, so no change falls in between. */
  async start() {
    this.connect();
    const { alerts } = await api('GET', '/api/alerts?limit=30');
    for (const a of alerts) if (!this.alerts.has(a.id)) this.upsert(a);
    $('#more').hidden = alerts.length < 30;
    this.empty();
  }

  stop() {
    clearInterval(this.clock);
    this.stream?.close();
    this.stream = null;
  }

  connect() {
    const live = $('#live');
    const es = new EventSource('/api/events');
    this.stream = es;
    es.addEventListener('open', () => {
      live.dataset.state = 'open';
      live.textContent = 'en direct';
    });
    es.addEventListener('error', () => {
      live.dataset.state = 'retrying';
      live.textContent = 'reconnexion…';
    });
    es.addEventListener('alert', (e) => {
      this.upsert(JSON.parse(/** @type {MessageEvent} */ (e).data));
    });
    // Sent just before the server ends the stream of a session that no longer stands.
    es.addEventListener('signed-out', () => {
      es.close();
      signedOut();
    });
  }

  async loadOlder() {
    const oldest = [...this.alerts.values()].reduce((min, a) => Math.min(min, Date.parse(a.createdAt)), Infinity);
    const { alerts } = await api('GET', `/api/alerts?limit=30&before=${oldest}`);
    for (const a of alerts) if (!this.alerts.has(a.id)) this.upsert(a);
    $('#more').hidden = alerts.length < 30;
  }

  /** @param {AlertView} a */
  upsert(a) {
    this.alerts.set(a.id, a);
    let card = this.cards.get(a.id);
    if (!card) {
      card = alertCard(a);
      this.cards.set(a.id, card);
      const newer = [...this.list.children].find((li) => {
        const other = this.alerts.get(/** @type {HTMLElement} */ (li).dataset.id ?? '');
        return other !== undefined && other.createdAt < a.createdAt;
      });
      this.list.insertBefore(card.el, newer ?? null);
    }
    card.update(a);
    this.empty();
    for (const fn of this.listeners) fn(a);
  }

  empty() {
    $('#no-alerts').hidden = this.alerts.size > 0;
  }

  /** Called with every new figure of every alert (the detail view listens). @param {(a: AlertView) => void} fn */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
