// @ts-check
// The suppression list panel: addresses never mailed again (hard bounces, complaints, entries
// added by hand). Editors add an address, release one (it may then be mailed again; the reader
// still comes back through a confirmation of their own) and export the whole list as CSV.
import { $, h } from './dom.js';
import { api } from './api.js';
import { applier } from './panel.js';
import { ask } from './workflow.js';

/** @typedef {{ email: string, reason: 'bounced' | 'complained' | 'manual', at: string, by: string }} Suppression */

/** @type {Record<Suppression['reason'], string>} */
const REASONS = { bounced: 'adresse rejetée', complained: 'signalé comme indésirable', manual: 'ajoutée à la main' };

const when = (/** @type {string} */ iso) =>
  new Date(iso).toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Paris' });

/** @param {{ flash: (text: string) => void }} hooks */
export function setupSuppressions(hooks) {
  const list = $('#suppression-list');
  const form = $('#suppression-form', document, HTMLFormElement);
  const errorBox = $('#suppression-error');
  const count = $('#suppression-count');
  const more = $('#suppression-more', document, HTMLButtonElement);
  /** @type {string | null} */
  let next = null;

  const apply = applier(errorBox, hooks.flash, () => load());

  /** @param {Suppression} s */
  function row(s) {
    const release = h('button', { type: 'button', class: 'link' }, 'Lever');
    release.addEventListener('click', async () => {
      const warn =
        s.reason === 'complained'
          ? 'Ce lecteur a signalé nos alertes comme indésirables : ne levez que s’il l’a demandé.'
          : 'L’adresse pourra de nouveau recevoir des courriels (après confirmation du lecteur).';
      if (await ask(`Lever la suppression de ${s.email} ?`, warn, 'Lever'))
        await apply(async () => {
          await api('DELETE', `/api/suppressions/${encodeURIComponent(s.email)}`);
          return `${s.email} peut de nouveau recevoir des courriels.`;
        });
    });
    return h(
      'li',
      { 'data-email': s.email },
      h('code', {}, s.email),
      ' ',
      h('span', { class: `suppression-reason ${s.reason}` }, REASONS[s.reason] ?? s.reason),
      ' ',
      h('span', { class: 'muted' }, `${when(s.at)} · ${s.by}`),
      ' ',
      release,
    );
  }

  /** @param {boolean} [append] */
  async function load(append = false) {
    const cursor = append && next ? next : '0';
    const page = /** @type {{ suppressions: Suppression[], next: string | null, total: number }} */ (
      await api('GET', `/api/suppressions?limit=100&cursor=${cursor}`)
    );
    next = page.next;
    const rows = page.suppressions.map(row);
    if (append) list.append(...rows);
    else list.replaceChildren(...rows);
    if (page.total === 0) list.replaceChildren(h('li', { class: 'muted' }, 'Aucune adresse suspendue.'));
    count.textContent = `${page.total} adresse${page.total > 1 ? 's' : ''}`;
    more.hidden = next === null;
  }

  more.addEventListener('click', () => void load(true));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = String(new FormData(form).get('email') ?? '').trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      errorBox.textContent = 'Saisissez une adresse électronique.';
      return;
    }
    if (
      await apply(async () => {
        await api('POST', '/api/suppressions', { email });
        return `${email} ne recevra plus de courriels.`;
      })
    )
      form.reset();
  });

  return { load: () => load(false) };
}
