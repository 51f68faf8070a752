// @ts-check
// One alert in full: its content, live figures per channel, and an actions area. Actions are
// registered from outside (registerAlertAction), so the update / correct / cancel buttons can be
// added next to this file without touching it.
import { $, h, when } from './dom.js';
import { api, ApiFailure } from './api.js';
import { CHANNEL, KIND, LANE, STATUS, URGENCY, channelBar, statusText, ticking } from './deliveries.js';
import { showReport } from './report.js';

/**
 * @typedef {import('./deliveries.js').AlertView} AlertView
 * @typedef {{ api: typeof api, flash: (text: string) => void, reload: () => Promise<void> }} ActionContext
 * @typedef {{ id: string, label: string, style?: 'primary' | 'secondary' | 'danger',
 *   applies: (a: AlertView) => boolean, run: (a: AlertView, ctx: ActionContext) => Promise<void> }} AlertAction
 */

/** @type {AlertAction[]} */
const actions = [];

/** @param {AlertAction} action */
export function registerAlertAction(action) {
  actions.push(action);
}

/**
 * Shows alert `id`; returns a function that stops following it.
 * @param {string} id
 * @param {import('./deliveries.js').Deliveries} deliveries
 * @param {(text: string) => void} flash
 */
export function showDetail(id, deliveries, flash) {
  const section = $('#detail');
  const body = $('#detail-body');
  const actionsBox = $('#detail-actions');
  const heading = $('#detail-title');
  heading.textContent = 'Chargement…';
  body.replaceChildren();
  actionsBox.replaceChildren();
  /** @type {Map<string, ReturnType<typeof channelBar>>} */
  let bars = new Map();
  const status = h('span', { class: 'status' });
  let shownStatus = '';
  /** @type {AlertView | null} */
  let current = null;
  // A scheduled alert's countdown moves every second.
  const tick = setInterval(() => {
    if (current && ticking(current)) status.textContent = statusText(current);
  }, 1000);
  // The delivery report: read on show, then at most every 2 s while the figures move.
  const reportBox = h('div', { id: 'detail-report', 'aria-live': 'off' });
  let reportAt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let reportTimer;
  const refreshReport = () => {
    clearTimeout(reportTimer);
    reportTimer = setTimeout(
      () => {
        reportAt = Date.now();
        showReport(reportBox, id).catch(() => {});
      },
      Math.max(0, reportAt + 2000 - Date.now()),
    );
  };

  /** @param {AlertView} a */
  function render(a) {
    heading.textContent = a.title;
    section.dataset.id = a.id;
    bars = new Map(a.channels.map((ch) => [ch, channelBar(ch)]));
    const dl = h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Statut'),
      h('dd', {}, status),
      h('dt', {}, 'Publiée'),
      h('dd', {}, `${when(a.createdAt)} par ${a.createdBy}`),
      h('dt', {}, 'Rubriques'),
      h('dd', {}, a.topics.length ? a.topics.join(', ') : 'toutes'),
      h('dt', {}, 'Dossier'),
      h('dd', {}, a.story ?? '—'),
      h('dt', {}, 'Urgence'),
      h('dd', {}, URGENCY[a.urgency] ?? a.urgency),
      h('dt', {}, 'File d’envoi'),
      h('dd', { class: 'lane', 'data-lane': a.lane ?? 'normal' }, LANE[a.lane ?? 'normal'] ?? a.lane ?? ''),
      h('dt', {}, 'Canaux'),
      h('dd', {}, a.channels.map((c) => CHANNEL[c] ?? c).join(', ')),
      h('dt', {}, 'Révision'),
      h('dd', {}, `${a.rev} (${KIND[a.kind ?? 'original'] ?? a.kind})`),
      ...(a.publishAt ? [h('dt', {}, 'Programmée pour'), h('dd', {}, when(a.publishAt))] : []),
      ...(a.flash ? [h('dt', {}, 'Priorité'), h('dd', {}, 'Flash')] : []),
      ...(a.approval
        ? [
            h('dt', {}, 'Approbation'),
            h(
              'dd',
              {},
              a.approval.approvedBy
                ? `approuvée par ${a.approval.approvedBy}`
                : `requise (audience de ${a.approval.audience.toLocaleString('fr-FR')} abonnés)`,
            ),
          ]
        : []),
    );
    // Every revision of the story, oldest first, with what each reached.
    const revisions =
      (a.revisions ?? []).length > 1
        ? h(
            'div',
            { class: 'revisions' },
            h('h2', {}, 'Révisions'),
            h(
              'ol',
              {},
              ...(a.revisions ?? []).map((r) =>
                h(
                  'li',
                  { 'data-rev': r.rev },
                  h('strong', {}, `${KIND[r.kind] ?? r.kind} — `),
                  r.title,
                  ' ',
                  h('span', { class: 'status' }, STATUS[r.status] ?? r.status),
                  ' ',
                  h(
                    'span',
                    { class: 'muted' },
                    `${when(r.createdAt)} par ${r.createdBy} · ${a.channels.map((ch) => `${CHANNEL[ch] ?? ch} ${r.delivery[ch]?.sent ?? 0}`).join(' · ')}`,
                  ),
                ),
              ),
            ),
          )
        : null;
    const link = a.url ? h('p', {}, h('a', { href: a.url, rel: 'noopener noreferrer', target: '_blank' }, a.url)) : null;
    // The email exactly as subscribers got it (real templates, sample links), when it went by email.
    const email = a.channels.includes('email')
      ? h(
          'div',
          { class: 'email-preview' },
          h('h2', {}, 'Courriel envoyé'),
          h('iframe', {
            id: 'detail-email',
            title: 'Courriel envoyé',
            sandbox: '',
            referrerpolicy: 'no-referrer',
            src: `/api/alerts/${encodeURIComponent(a.id)}/preview/email`,
          }),
        )
      : null;
    body.replaceChildren(
      h('p', { class: 'alert-body' }, a.body || '(sans texte)'),
      link ?? '',
      dl,
      ...[...bars.values()].map((b) => b.el),
      reportBox,
      revisions ?? '',
      email ?? '',
    );
    shownStatus = '';
    update(a);
  }

  /** @param {AlertView} a */
  function update(a) {
    current = a;
    refreshReport();
    status.textContent = statusText(a);
    section.dataset.status = a.status;
    for (const [ch, bar] of bars) bar.update(a.delivery[ch] ?? { targeted: 0, sent: 0, failed: 0 }, a.status);
    // Which actions apply depends on the status (no cancelling what has finished).
    if (a.status !== shownStatus) {
      shownStatus = a.status;
      renderActions(a);
    }
  }

  /** @param {AlertView} a */
  function renderActions(a) {
    const ctx = { api, flash, reload };
    actionsBox.replaceChildren(
      ...actions
        .filter((x) => x.applies(a))
        .map((x) => {
          const b = /** @type {HTMLButtonElement} */ (
            h('button', { type: 'button', class: x.style ?? 'secondary', 'data-action': x.id }, x.label)
          );
          b.addEventListener('click', async () => {
            b.disabled = true;
            try {
              await x.run(a, ctx);
            } catch (e) {
              flash(e instanceof ApiFailure ? e.message : String(e));
            } finally {
              b.disabled = false;
            }
          });
          return b;
        }),
    );
  }

  async function reload() {
    try {
      const a = /** @type {AlertView} */ (await api('GET', `/api/alerts/${encodeURIComponent(id)}`));
      deliveries.upsert(a);
      render(a);
    } catch (e) {
      heading.textContent = e instanceof ApiFailure && e.status === 404 ? 'Alerte introuvable' : 'Erreur';
      body.replaceChildren(h('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
    }
  }

  const known = deliveries.alerts.get(id);
  if (known) render(known);
  else void reload();
  const off = deliveries.onChange((a) => {
    if (a.id !== id) return;
    // A new revision changes the content shown, not just the figures.
    if (bars.size === 0 || a.channels.length !== bars.size || a.rev !== current?.rev) render(a);
    else update(a);
  });
  section.hidden = false;
  heading.focus();
  return () => {
    off();
    clearInterval(tick);
    clearTimeout(reportTimer);
    section.hidden = true;
  };
}
