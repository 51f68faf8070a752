// @ts-check
// The webhooks panel (chiefs only): the systems told when an alert goes out, is delivered,
// corrected or cancelled, or when a reader's address bounces. Registering shows the endpoint's
// signing secret once; after that only its URL, its events and its state are shown. The log of
// an endpoint lists what its last deliveries answered.
import { $, h } from './dom.js';
import { api, ApiFailure } from './api.js';
import { ask } from './workflow.js';

/** @typedef {{ id: string, url: string, events: string[], includeAddresses: boolean, enabled: boolean, createdBy: string, disabled?: { at: string, reason: string }, failingSince?: string }} Endpoint */
/** @typedef {{ at: string, type: string, attempt: number, status: number, ok: boolean, durationMs: number, error?: string }} Delivery */

/** @type {Record<string, string>} */
export const EVENT_LABELS = {
  'alert.published': 'Alerte publiée (ou mise à jour)',
  'alert.delivered': 'Alerte distribuée (chiffres finaux)',
  'alert.corrected': 'Rectificatif publié',
  'alert.cancelled': 'Alerte annulée',
  'subscriber.bounced': 'Adresse rejetée (rebond)',
  'subscriber.complained': 'Plainte pour spam',
};

const when = (/** @type {string} */ iso) => new Date(iso).toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'medium' });

/** @param {{ flash: (text: string) => void }} hooks */
export function setupWebhooks(hooks) {
  const list = $('#webhook-list');
  const form = $('#webhook-form', document, HTMLFormElement);
  const errorBox = $('#webhook-error');
  const secretBox = $('#webhook-secret');
  const choices = $('#webhook-events');
  choices.replaceChildren(
    ...Object.entries(EVENT_LABELS).map(([code, label]) =>
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', name: 'events', value: code, checked: code.startsWith('alert.') }),
        ` ${label}`,
      ),
    ),
  );

  /** @param {() => Promise<string>} change */
  async function apply(change) {
    errorBox.textContent = '';
    try {
      hooks.flash(await change());
    } catch (err) {
      errorBox.textContent = err instanceof ApiFailure ? err.message : String(err);
      return false;
    }
    await load();
    return true;
  }

  /** @param {Endpoint} e @param {HTMLElement} li */
  async function showLog(e, li) {
    const { deliveries } = /** @type {{ deliveries: Delivery[] }} */ (await api('GET', `/api/webhooks/${e.id}/deliveries`));
    const rows = deliveries.map((d) =>
      h(
        'tr',
        { class: d.ok ? '' : 'failed' },
        h('td', {}, when(d.at)),
        h('td', {}, d.type),
        h('td', {}, String(d.attempt)),
        h('td', {}, d.status ? String(d.status) : (d.error ?? 'sans réponse')),
        h('td', {}, `${d.durationMs} ms`),
      ),
    );
    const head = h('tr', {}, ...['Heure', 'Évènement', 'Essai', 'Réponse', 'Durée'].map((t) => h('th', { scope: 'col' }, t)));
    li.querySelector('table')?.remove();
    li.append(
      rows.length === 0
        ? h('p', { class: 'muted' }, 'Aucun envoi pour l’instant.')
        : h('table', { class: 'webhook-log' }, h('caption', {}, 'Derniers envois'), h('thead', {}, head), h('tbody', {}, ...rows)),
    );
  }

  /** @param {Endpoint} e */
  function row(e) {
    const state = e.enabled
      ? h('span', { class: 'ok' }, e.failingSince ? `actif, en échec depuis ${when(e.failingSince)}` : 'actif')
      : h(
          'span',
          { class: 'error' },
          e.disabled?.reason === 'failing' ? `désactivé après une journée d’échecs (${when(e.disabled.at)})` : 'désactivé',
        );
    const li = h(
      'li',
      { 'data-id': e.id },
      h('code', {}, e.url),
      ' — ',
      state,
      h('p', { class: 'hint' }, e.events.map((x) => EVENT_LABELS[x] ?? x).join(' · '), e.includeAddresses ? ' · avec adresses' : ''),
    );
    const toggle = h('button', { type: 'button', class: 'link' }, e.enabled ? 'Désactiver' : 'Réactiver');
    toggle.addEventListener('click', () =>
      apply(async () => {
        await api('PATCH', `/api/webhooks/${e.id}`, { enabled: !e.enabled });
        return e.enabled ? 'Webhook désactivé.' : 'Webhook réactivé.';
      }),
    );
    const log = h('button', { type: 'button', class: 'link' }, 'Journal');
    log.addEventListener('click', () => {
      showLog(e, li).catch((err) => {
        errorBox.textContent = err instanceof ApiFailure ? err.message : String(err);
      });
    });
    const remove = h('button', { type: 'button', class: 'link danger-link' }, 'Supprimer');
    remove.addEventListener('click', async () => {
      if (await ask('Supprimer ce webhook ?', `${e.url} ne recevra plus rien.`, 'Supprimer'))
        await apply(async () => {
          await api('DELETE', `/api/webhooks/${e.id}`);
          return 'Webhook supprimé.';
        });
    });
    li.append(toggle, ' ', log, ' ', remove);
    return li;
  }

  async function load() {
    const { webhooks } = /** @type {{ webhooks: Endpoint[] }} */ (await api('GET', '/api/webhooks'));
    list.replaceChildren(...webhooks.map(row));
    if (webhooks.length === 0) list.append(h('li', { class: 'muted' }, 'Aucun webhook.'));
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const url = String(data.get('url') ?? '').trim();
    const events = data.getAll('events').map(String);
    if (!url.startsWith('https://')) {
      errorBox.textContent = 'L’adresse doit commencer par https://';
      return;
    }
    if (events.length === 0) {
      errorBox.textContent = 'Choisissez au moins un évènement.';
      return;
    }
    secretBox.hidden = true;
    /** @type {string} */
    let secret = '';
    const ok = await apply(async () => {
      const created = await api('POST', '/api/webhooks', { url, events, includeAddresses: data.get('includeAddresses') === 'on' });
      secret = String(created.secret);
      return 'Webhook enregistré.';
    });
    if (!ok) return;
    form.reset();
    $('#webhook-secret-value').textContent = secret;
    secretBox.hidden = false;
  });

  return { load };
}
