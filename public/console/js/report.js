// @ts-check
// The delivery report of one alert (GET /api/alerts/:id/report): the curve of accepted and
// received pushes (and accepted emails) against time, with the newsroom's target as a line, the
// share within the target, percentiles, click-through rates and the per-service table. Plain
// SVG built with DOM calls: presentation attributes only, nothing the console's CSP refuses.
import { h, fmt } from './dom.js';
import { api } from './api.js';

/**
 * @typedef {{ firstMs: number|null, p50Ms: number|null, p90Ms: number|null, p99Ms: number|null, lastMs: number|null }} Timing
 * @typedef {{ ms: number, accepted: number, received?: number }} Point
 * @typedef {{ accepted: number, failed: number, expired: number, p90Ms: number|null, errors: Record<string, number> }} Service
 * @typedef {{ alert: string, rev: number, targetSeconds: number,
 *   push: { targeted: number, accepted: number, received: number, clicked: number, failed: number, expired: number,
 *     withinTarget: number|null, timing: Timing, curve: Point[], byService: Record<string, Service> },
 *   email: { targeted: number, accepted: number, clicked: number, bounced: number, failed: number,
 *     withinTarget: number|null, timing: Timing, curve: Point[] } }} Report
 */

const SVG = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 240;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };
const SERVICE = /** @type {Record<string, string>} */ ({
  fcm: 'FCM (Chrome, Android)',
  mozilla: 'Mozilla',
  apple: 'Apple',
  wns: 'Windows',
  other: 'Autres',
});

/** « 2 min », « 45 s », « 1 min 30 s ». @param {number} seconds */
export function duration(seconds) {
  if (seconds < 60) return `${fmt(Math.round(seconds * 10) / 10)}\u00a0s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return s ? `${m}\u00a0min\u00a0${s}\u00a0s` : `${m}\u00a0min`;
}

/** A share as a whole percentage, rounded down (99,9 % is not everyone). @param {number} share */
export const percent = (share) => `${Math.floor(share * 100)}\u202f%`;

/** « 93 % en moins de 2 min ». @param {number|null|undefined} share @param {number} targetSeconds */
export const withinText = (share, targetSeconds) =>
  share === null || share === undefined ? '' : `${percent(share)} en moins de ${duration(targetSeconds)}`;

/** « CTR 4,1 % ». @param {number|null|undefined} ctr */
export const ctrText = (ctr) => (ctr === null || ctr === undefined ? '' : `CTR ${fmt(Math.round(ctr * 1000) / 10)}\u202f%`);

/** @param {string} tag @param {Record<string, string|number>} attrs @param {...(Element|string)} children */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** The curves as one SVG. @param {Report} r */
export function curveChart(r) {
  const pushBase = r.push.targeted || 1;
  const emailBase = r.email.targeted || 1;
  const lastMs = Math.max(r.push.curve.at(-1)?.ms ?? 0, r.email.curve.at(-1)?.ms ?? 0);
  const maxMs = Math.max(lastMs, r.targetSeconds * 1000) * 1.05;
  const x = (/** @type {number} */ ms) => PAD.left + (ms / maxMs) * (W - PAD.left - PAD.right);
  const y = (/** @type {number} */ share) => H - PAD.bottom - share * (H - PAD.top - PAD.bottom);
  /** @param {Point[]} pts @param {(p: Point) => number} value @param {number} base */
  const line = (pts, value, base) => {
    // Steps: a cumulative count holds until the next bucket ends.
    let d = `M${x(0)},${y(0)}`;
    let prev = 0;
    for (const p of pts) {
      d += ` L${x(p.ms)},${y(prev / base)} L${x(p.ms)},${y(value(p) / base)}`;
      prev = value(p);
    }
    return `${d} L${x(maxMs)},${y(prev / base)}`;
  };
  const grid = [0, 0.5, 1].map((share) =>
    s(
      'g',
      {},
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(share), y2: y(share), stroke: '#d0d4da', 'stroke-width': 1 }),
      s('text', { x: PAD.left - 6, y: y(share) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#555' }, percent(share)),
    ),
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    s('text', { x: x(f * maxMs), y: H - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#555' }, duration((f * maxMs) / 1000)),
  );
  const tx = x(r.targetSeconds * 1000);
  const series = [
    ...(r.push.targeted > 0
      ? [
          s('path', {
            d: line(r.push.curve, (p) => p.accepted, pushBase),
            fill: 'none',
            stroke: '#1f5fbf',
            'stroke-width': 2,
            class: 'push-accepted',
          }),
          s('path', {
            d: line(r.push.curve, (p) => p.received ?? 0, pushBase),
            fill: 'none',
            stroke: '#2e8b57',
            'stroke-width': 2,
            'stroke-dasharray': '5 3',
            class: 'push-received',
          }),
        ]
      : []),
    ...(r.email.targeted > 0
      ? [
          s('path', {
            d: line(r.email.curve, (p) => p.accepted, emailBase),
            fill: 'none',
            stroke: '#b5651d',
            'stroke-width': 2,
            class: 'email-accepted',
          }),
        ]
      : []),
  ];
  return s(
    'svg',
    {
      viewBox: `0 0 ${W} ${H}`,
      width: '100%',
      role: 'img',
      'aria-label': `Courbe de remise : part de l’audience atteinte selon le temps écoulé depuis l’envoi, objectif ${duration(r.targetSeconds)}`,
      class: 'curve',
    },
    ...grid,
    ...ticks,
    s('line', {
      x1: tx,
      x2: tx,
      y1: PAD.top,
      y2: H - PAD.bottom,
      stroke: '#c0392b',
      'stroke-width': 1.5,
      'stroke-dasharray': '4 3',
      class: 'target',
    }),
    s('text', { x: tx + 4, y: PAD.top + 10, 'font-size': 11, fill: '#c0392b' }, `objectif ${duration(r.targetSeconds)}`),
    ...series,
  );
}

/** @param {Timing} t */
const timingText = (t) =>
  t.p50Ms === null
    ? '—'
    : `médiane ${duration((t.p50Ms ?? 0) / 1000)} · 90 % ${duration((t.p90Ms ?? 0) / 1000)} · 99 % ${duration((t.p99Ms ?? 0) / 1000)} · dernier ${duration((t.lastMs ?? 0) / 1000)}`;

/** The whole report block. @param {Report} r */
export function reportBlock(r) {
  const p = r.push;
  const e = r.email;
  const rows = [];
  if (p.targeted > 0) {
    rows.push(
      h('dt', {}, 'Push'),
      h(
        'dd',
        { class: 'push-figures', 'data-within': p.withinTarget ?? '', 'data-received': p.received, 'data-clicked': p.clicked },
        [withinText(p.withinTarget, r.targetSeconds), `${fmt(p.received)} affichées`, ctrText(p.accepted ? p.clicked / p.accepted : null)]
          .filter(Boolean)
          .join(' · '),
      ),
      h('dt', {}, 'Délais push'),
      h('dd', {}, timingText(p.timing)),
    );
  }
  if (e.targeted > 0) {
    rows.push(
      h('dt', {}, 'Courriel'),
      h(
        'dd',
        { class: 'email-figures', 'data-within': e.withinTarget ?? '', 'data-clicked': e.clicked },
        [withinText(e.withinTarget, r.targetSeconds), ctrText(e.accepted ? e.clicked / e.accepted : null)].filter(Boolean).join(' · '),
      ),
      h('dt', {}, 'Délais courriel'),
      h('dd', {}, timingText(e.timing)),
    );
  }
  const services = Object.entries(p.byService);
  const table = services.length
    ? h(
        'table',
        { class: 'services' },
        h('caption', {}, 'Par service push'),
        h('tr', {}, ...['Service', 'Acceptés', 'Échecs', 'Expirés', '90 % en', 'Erreurs'].map((t) => h('th', { scope: 'col' }, t))),
        ...services.map(([name, f]) =>
          h(
            'tr',
            { 'data-service': name },
            h('th', { scope: 'row' }, SERVICE[name] ?? name),
            h('td', {}, fmt(f.accepted)),
            h('td', {}, fmt(f.failed)),
            h('td', {}, fmt(f.expired)),
            h('td', {}, f.p90Ms === null ? '—' : duration(f.p90Ms / 1000)),
            h(
              'td',
              {},
              Object.entries(f.errors)
                .map(([reason, n]) => `${reason} : ${fmt(n)}`)
                .join(', ') || '—',
            ),
          ),
        ),
      )
    : null;
  const legend = h(
    'p',
    { class: 'legend' },
    h('span', { class: 'key push-accepted' }),
    ' push acceptés ',
    h('span', { class: 'key push-received' }),
    ' push affichés ',
    h('span', { class: 'key email-accepted' }),
    ' courriels acceptés',
  );
  return h(
    'div',
    { class: 'report', 'data-rev': r.rev },
    h('h2', {}, 'Remise'),
    curveChart(r),
    legend,
    h('dl', { class: 'report-facts' }, ...rows),
    table ?? '',
    h(
      'p',
      {},
      h('a', { href: `/api/alerts/${encodeURIComponent(r.alert)}/report?rev=${r.rev}&format=csv`, download: '' }, 'Télécharger (CSV)'),
    ),
  );
}

/** Fetches and shows the report of alert `id` in `box`. @param {HTMLElement} box @param {string} id */
export async function showReport(box, id) {
  const r = /** @type {Report} */ (await api('GET', `/api/alerts/${encodeURIComponent(id)}/report`));
  box.replaceChildren(reportBlock(r));
}
