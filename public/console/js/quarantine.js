// @ts-check
// Push subscriptions in quarantine: their push service refused the same non-auth 4xx on several
// alerts over days, so they are no longer sent to. Editors see them by push service and origin
// (never the endpoint) and send to one again with « Rétablir ».
import { $, h } from './dom.js';
import { api } from './api.js';
import { applier } from './panel.js';

/** @typedef {{ id: string, service: string, origin: string }} Quarantined */

/** @param {{ flash: (text: string) => void }} hooks */
export function setupQuarantine(hooks) {
  const list = $('#quarantine-list');
  const count = $('#quarantine-count');
  const apply = applier($('#quarantine-error'), hooks.flash, () => load());

  /** @param {Quarantined} q */
  function row(q) {
    const restore = h('button', { type: 'button', class: 'link' }, 'Rétablir');
    restore.addEventListener('click', () =>
      apply(async () => {
        await api('POST', `/api/push/quarantine/${encodeURIComponent(q.id)}/restore`);
        return `L’abonnement n° ${q.id} recevra de nouveau les alertes.`;
      }),
    );
    return h(
      'li',
      { 'data-id': q.id },
      h('code', {}, `n° ${q.id}`),
      ' ',
      h('span', {}, q.service),
      ' ',
      h('span', { class: 'muted' }, q.origin),
      ' ',
      restore,
    );
  }

  async function load() {
    const page = /** @type {{ count: number, subscribers: Quarantined[] }} */ (await api('GET', '/api/push/quarantine'));
    list.replaceChildren(...page.subscribers.map(row));
    if (page.count === 0) list.replaceChildren(h('li', { class: 'muted' }, 'Aucun abonnement en quarantaine.'));
    count.textContent = `${page.count} abonnement${page.count > 1 ? 's' : ''}`;
  }

  return { load };
}
