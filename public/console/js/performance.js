// @ts-check
// The newsroom's last 30 days (GET /api/reports/recent): per alert, the time by which 90 % of the
// accepted messages were out, the share within the target and the click-through rate, each as a
// bar chart with its median, then the same figures as a table. Plain SVG like the alert's own
// curve (report.js), built with DOM calls so the console's CSP has nothing to refuse.
import { $, h, fmt, when } from './dom.js';
import { api } from './api.js';
import { ctrText, duration, percent, s, withinText } from './report.js';

/**
 * @typedef {{ targeted: number, accepted: number, clicked: number, withinTarget: number|null, p90Ms: number|null, ctr: number|null }} Figures
 * @typedef {{ id: string, rev: number, title: string, publishedAt: string, push: Figures, email: Figures }} RecentAlert
 * @typedef {{ withinTarget: number|null, p90Ms: number|null, ctr: number|null, alerts: number }} Medians
 * @typedef {{ days: number, since: string, targetSeconds: number, limit: number, truncated: boolean,
 *   alerts: RecentAlert[], medians: { push: Medians, email: Medians } }} Recent
 * @typedef {'push' | 'email'} Ch
 */

const W = 640;
const H = 200;
const PAD = { left: 56, right: 12, top: 14, bottom: 22 };
const COLOR = { push: '#1f5fbf', email: '#b5651d' };
const NAME = { push: 'Push', email: 'Courriel' };
/** @type {Ch[]} */
const CHANNELS = ['push', 'email'];

/** @param {number|null} ms */
const ms = (ms) => (ms === null ? '—' : duration(ms / 1000));
/** @param {number|null} share */
const pct = (share) => (share === null ? '—' : percent(share));
/** A CTR keeps one decimal: « 4,1 % ». @param {number|null} ctr */
const ctrOnly = (ctr) => (ctr === null ? '—' : ctrText(ctr).replace(/^CTR /, ''));

/**
 * One bar chart: a group of bars per alert (one per channel that has a value), a dashed line at
 * each channel's median, and an optional red reference line (the target).
 * @param {{ name: string, label: string, alerts: RecentAlert[], value: (f: Figures) => number|null,
 *   medians: Record<Ch, number|null>, text: (v: number|null) => string, ceiling?: number,
 *   reference?: { value: number, label: string } }} o
 */
function barChart(o) {
  const values = o.alerts.flatMap((a) => CHANNELS.map((ch) => o.value(a[ch]) ?? 0));
  const max = Math.max(o.ceiling ?? 0, o.reference?.value ?? 0, ...values) || 1;
  const plotW = W - PAD.left - PAD.right;
  const y = (/** @type {number} */ v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const slot = plotW / Math.max(1, o.alerts.length);
  const barW = Math.max(1, Math.min(18, (slot * 0.8) / 2));
  const grid = [0, 0.5, 1].map((f) =>
    s(
      'g',
      {},
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(f * max), y2: y(f * max), stroke: '#d0d4da', 'stroke-width': 1 }),
      s('text', { x: PAD.left - 6, y: y(f * max) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#555' }, o.text(f * max)),
    ),
  );
  const bars = o.alerts.flatMap((a, i) =>
    CHANNELS.flatMap((ch, j) => {
      const v = o.value(a[ch]);
      if (v === null) return [];
      const x = PAD.left + i * slot + (slot - 2 * barW) / 2 + j * barW;
      return [
        s(
          'rect',
          {
            x,
            y: y(v),
            width: barW,
            height: Math.max(0, y(0) - y(v)),
            fill: COLOR[ch],
            class: `col ${ch}`,
            'data-id': a.id,
            'data-value': v,
          },
          s('title', {}, `${a.title} — ${NAME[ch]} : ${o.text(v)}`),
        ),
      ];
    }),
  );
  const line = (/** @type {number} */ v, /** @type {string} */ color, /** @type {string} */ cls, /** @type {string} */ label) =>
    s(
      'g',
      { class: cls, 'data-value': v },
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: color, 'stroke-width': 1.5, 'stroke-dasharray': '4 3' }),
      ...(label ? [s('text', { x: W - PAD.right - 2, y: y(v) - 3, 'text-anchor': 'end', 'font-size': 11, fill: color }, label)] : []),
    );
  // The medians are named under the chart, where no bar can hide their label.
  const medians = CHANNELS.flatMap((ch) => {
    const v = o.medians[ch];
    return v === null ? [] : [line(v, COLOR[ch], `median ${ch}`, '')];
  });
  const named = CHANNELS.filter((ch) => o.medians[ch] !== null).map((ch) => `médiane ${NAME[ch].toLowerCase()} ${o.text(o.medians[ch])}`);
  const ref = o.reference ? [line(o.reference.value, '#c0392b', 'target', o.reference.label)] : [];
  return h(
    'figure',
    { class: 'perf-chart', 'data-chart': o.name },
    h('figcaption', {}, o.label),
    s(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': o.label, class: 'bars' },
      ...grid,
      ...bars,
      ...ref,
      ...medians,
    ),
    h('p', { class: 'hint medians' }, `Pointillés : ${named.join(' · ') || 'aucune médiane'}`),
  );
}

/** The table of every alert, newest first. @param {Recent} r */
function table(r) {
  const cols = [
    'Alerte',
    'Envoi',
    ...CHANNELS.flatMap((ch) => [`${NAME[ch]} : en moins de ${duration(r.targetSeconds)}`, '90 % en', 'CTR']),
  ];
  return h(
    'table',
    { class: 'perf-table' },
    h('caption', {}, 'Par alerte'),
    h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c))),
    ...[...r.alerts].reverse().map((a) =>
      h(
        'tr',
        { 'data-id': a.id },
        h('th', { scope: 'row' }, h('a', { href: `#/alerte/${a.id}` }, a.title)),
        h('td', {}, when(a.publishedAt)),
        ...CHANNELS.flatMap((ch) => {
          const f = a[ch];
          const sent = f.accepted > 0;
          return [
            h('td', { class: `${ch}-within`, 'data-value': f.withinTarget ?? '' }, sent ? pct(f.withinTarget) : '—'),
            h('td', { class: `${ch}-p90`, 'data-value': f.p90Ms ?? '' }, sent ? ms(f.p90Ms) : '—'),
            h('td', { class: `${ch}-ctr`, 'data-value': f.ctr ?? '' }, sent ? ctrOnly(f.ctr) : '—'),
          ];
        }),
      ),
    ),
  );
}

/** The page's content for one answer of the API. @param {Recent} r */
export function performanceBlock(r) {
  const m = r.medians;
  const facts = CHANNELS.filter((ch) => m[ch].alerts > 0).flatMap((ch) => [
    h('dt', {}, NAME[ch]),
    h(
      'dd',
      { class: `median-${ch}`, 'data-p90': m[ch].p90Ms ?? '', 'data-within': m[ch].withinTarget ?? '', 'data-ctr': m[ch].ctr ?? '' },
      [
        `médiane du temps pour atteindre 90 % : ${ms(m[ch].p90Ms)}`,
        `médiane : ${withinText(m[ch].withinTarget, r.targetSeconds) || '—'}`,
        `CTR médian ${ctrOnly(m[ch].ctr)}`,
        `${fmt(m[ch].alerts)} alerte${m[ch].alerts > 1 ? 's' : ''}`,
      ].join(' · '),
    ),
  ]);
  if (r.alerts.length === 0) return h('p', { class: 'muted' }, `Aucune alerte depuis ${r.days} jours.`);
  const medians = (/** @type {'p90Ms'|'withinTarget'|'ctr'} */ k) => ({ push: m.push[k], email: m.email[k] });
  return h(
    'div',
    { class: 'performance', 'data-alerts': r.alerts.length },
    h('dl', { class: 'report-facts' }, ...facts),
    r.truncated ? h('p', { class: 'hint' }, `Seules les ${fmt(r.limit)} alertes les plus récentes sont montrées.`) : '',
    h('p', { class: 'legend' }, h('span', { class: 'key push' }), ' push ', h('span', { class: 'key email' }), ' courriel'),
    barChart({
      name: 'p90',
      label: 'Temps pour atteindre 90 % des destinataires, par alerte',
      alerts: r.alerts,
      value: (f) => (f.accepted > 0 ? f.p90Ms : null),
      medians: medians('p90Ms'),
      text: (v) => ms(v),
      reference: { value: r.targetSeconds * 1000, label: `objectif ${duration(r.targetSeconds)}` },
    }),
    barChart({
      name: 'within',
      label: `Part remise en moins de ${duration(r.targetSeconds)}, par alerte`,
      alerts: r.alerts,
      value: (f) => (f.accepted > 0 ? f.withinTarget : null),
      medians: medians('withinTarget'),
      text: (v) => pct(v),
      ceiling: 1,
    }),
    barChart({
      name: 'ctr',
      label: 'Taux de clic (clics par message remis), par alerte',
      alerts: r.alerts,
      value: (f) => (f.accepted > 0 ? f.ctr : null),
      medians: medians('ctr'),
      text: (v) => ctrOnly(v),
    }),
    table(r),
  );
}

/** Reads the last 30 days and shows them in the page. */
export async function showPerformance() {
  const body = $('#performance-body');
  body.replaceChildren(h('p', { class: 'muted' }, 'Chargement…'));
  const r = /** @type {Recent} */ (await api('GET', '/api/reports/recent?days=30'));
  body.replaceChildren(performanceBlock(r));
}
