// @ts-check
// The compose form: reads the draft, keeps the previews and the audience current as the editor
// types, asks for confirmation naming the exact audience, then publishes with an Idempotency-Key
// so a double click or a retried request cannot send the alert twice.
import { $, debounce, fmt, h } from './dom.js';
import { api, ApiFailure } from './api.js';
import { audienceText, showAudience, showEmail, showGauge, showNotifications, showPreviewError } from './previews.js';

/** @typedef {import('./previews.js').Draft} Draft */

const SLUG = /^[a-z0-9][a-z0-9-]{0,39}$/;
const STORY = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A fresh key per composed alert; crypto.randomUUID needs a secure context, this does not. */
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {HTMLFormElement} form @returns {Draft} */
export function readDraft(form) {
  const data = new FormData(form);
  const text = (/** @type {string} */ name) => String(data.get(name) ?? '').trim();
  const topics = data.getAll('topics').map(String);
  return {
    title: text('title'),
    body: text('body'),
    url: text('url'),
    image: text('image'),
    story: text('story'),
    topics: [...new Set(topics)],
    urgency: text('urgency') || 'high',
    channels: data.getAll('channels').map(String),
    flash: data.get('flash') !== null,
    // datetime-local has no zone: the browser reads it on the editor's clock, sent with its offset.
    publishAt: text('publishAt') ? new Date(text('publishAt')).toISOString() : '',
    // The English version, for readers who chose English (left out when its title is empty).
    titleEn: text('titleEn'),
    bodyEn: text('bodyEn'),
  };
}

/** What the API receives: empty optional fields are left out. @param {Draft} d */
export function toBody(d) {
  return {
    title: d.title,
    body: d.body,
    topics: d.topics,
    urgency: d.urgency,
    channels: d.channels,
    ...(d.url ? { url: d.url } : {}),
    ...(d.image ? { image: d.image } : {}),
    ...(d.story ? { story: d.story } : {}),
    ...(d.flash ? { flash: true } : {}),
    ...(d.publishAt ? { publishAt: d.publishAt } : {}),
    ...(d.titleEn ? { texts: { en: { title: d.titleEn, body: d.bodyEn ?? '' } } } : {}),
  };
}

/** A French message for the first thing that stops publishing, or null. @param {Draft} d */
export function problem(d) {
  if (!d.title) return 'Le titre est obligatoire.';
  if (d.bodyEn && !d.titleEn) return 'La version anglaise a besoin d’un titre.';
  if (d.channels.length === 0) return 'Choisissez au moins un canal.';
  if (d.url && !/^https?:\/\/[^\s]+$/.test(d.url)) return 'Le lien de l’article doit commencer par https://';
  if (d.image && !/^https:\/\/[^\s]+$/.test(d.image)) return 'L’image doit être une adresse https://';
  if (d.story && !STORY.test(d.story)) return 'Dossier : lettres minuscules, chiffres et tirets uniquement.';
  const bad = d.topics.find((t) => !SLUG.test(t));
  if (bad) return `Rubrique « ${bad} » : lettres minuscules, chiffres et tirets uniquement.`;
  if (d.publishAt && Date.parse(d.publishAt) <= Date.now()) return 'L’heure programmée est déjà passée.';
  return null;
}

/** @param {{ onPublished: (alert: any) => void, flash: (text: string) => void }} hooks */
export function setupCompose(hooks) {
  const form = $('#compose-form', document, HTMLFormElement);
  const dialog = $('#confirm', document, HTMLDialogElement);
  const errorBox = $('#compose-error');
  let key = newKey();
  let attempted = false;
  /** @type {string | null} the topics the shown audience was counted for */
  let audienceFor = null;
  /** @type {import('./previews.js').AudienceCounts | null} */
  let audience = null;

  const preview = debounce(async () => {
    const draft = readDraft(form);
    try {
      const p = await api('POST', '/api/preview', toBody(draft));
      showGauge(p.push);
      showEmail(p.email, draft.channels.includes('email'));
      showPreviewError('');
    } catch (e) {
      showPreviewError(e instanceof ApiFailure ? e.message : String(e));
    }
  }, 250);

  /** @param {string[]} topics */
  async function fetchAudience(topics) {
    return /** @type {import('./previews.js').AudienceCounts} */ (
      await api('GET', `/api/audience?topics=${encodeURIComponent(topics.join(','))}`)
    );
  }

  const refreshAudience = debounce(async () => {
    const draft = readDraft(form);
    const valid = draft.topics.every((t) => SLUG.test(t));
    if (!valid) {
      showAudience(null, draft.channels);
      return;
    }
    try {
      audience = await fetchAudience(draft.topics);
      showAudience(audience, draft.channels);
    } catch (e) {
      showPreviewError(e instanceof ApiFailure ? e.message : String(e));
    }
  }, 200);

  function changed() {
    const draft = readDraft(form);
    // Editing after a failed attempt makes it another alert: it gets its own key.
    if (attempted) {
      key = newKey();
      attempted = false;
    }
    $('#f-title-count').textContent = `${fmt([...draft.title].length)} / 200 caractères`;
    $('#f-body-count').textContent = `${fmt([...draft.body].length)} / 2 000 caractères`;
    showNotifications(draft);
    preview();
    const audienceKey = draft.topics.join(',');
    if (audienceKey !== audienceFor) {
      audienceFor = audienceKey;
      audience = null;
      refreshAudience();
    }
    showAudience(audience, draft.channels);
    errorBox.textContent = '';
  }

  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const draft = readDraft(form);
    const why = problem(draft);
    if (why) {
      errorBox.textContent = why;
      return;
    }
    let counts;
    try {
      // Counted again now: the dialog names the audience as it is at this moment.
      counts = await fetchAudience(draft.topics);
    } catch (err) {
      errorBox.textContent = err instanceof ApiFailure ? err.message : String(err);
      return;
    }
    showAudience(counts, draft.channels);
    const total = draft.channels.reduce((n, ch) => n + counts[/** @type {'push' | 'email'} */ (ch)], 0);
    const at = draft.publishAt
      ? `le ${new Date(draft.publishAt).toLocaleString('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'full', timeStyle: 'short' })}`
      : 'maintenant';
    $('#confirm-text').textContent = `« ${draft.title} » partira ${at}${draft.flash ? ' (flash)' : ''} vers :`;
    $('#confirm-send').textContent = draft.publishAt ? 'Programmer' : 'Envoyer maintenant';
    const list = $('#confirm-audience');
    list.replaceChildren(
      ...draft.channels.map((ch) => h('li', { 'data-channel': ch }, audienceText(counts[/** @type {'push' | 'email'} */ (ch)], ch, true))),
    );
    const scope = draft.topics.length ? `Rubriques : ${draft.topics.join(', ')}.` : 'Toutes rubriques : tous les abonnés.';
    list.append(h('li', { class: 'muted' }, scope));
    $('#confirm-warning').textContent = total === 0 ? 'Personne ne recevra cette alerte avec ces rubriques et ces canaux.' : '';
    dialog.returnValue = '';
    dialog.showModal();
    // An alert cannot be unsent: the safe choice has the focus.
    $('#confirm-cancel', dialog, HTMLButtonElement).focus();
  });

  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'send') {
      $('#publish', form, HTMLButtonElement).focus();
      return;
    }
    const draft = readDraft(form);
    const button = $('#publish', form, HTMLButtonElement);
    button.disabled = true;
    attempted = true;
    try {
      const alert = await api('POST', '/api/alerts', toBody(draft), { 'idempotency-key': key });
      form.reset();
      key = newKey();
      attempted = false;
      audienceFor = null;
      changed();
      hooks.flash(
        alert.status === 'scheduled'
          ? `Alerte « ${alert.title} » programmée.`
          : alert.status === 'awaiting_approval'
            ? `Alerte « ${alert.title} » en attente de l’approbation d’un chef d’édition.`
            : `Alerte « ${alert.title} » publiée.`,
      );
      hooks.onPublished(alert);
    } catch (err) {
      errorBox.textContent = err instanceof ApiFailure ? err.message : String(err);
    } finally {
      button.disabled = false;
    }
  });

  return {
    /** Fills the topic checkboxes with the newsroom's topics, keeping what was ticked. */
    async loadTopics() {
      const { topics } = /** @type {{ topics: { slug: string, label: string }[] }} */ (await api('GET', '/api/topics'));
      const ticked = new Set(readDraft(form).topics);
      const box = $('#topic-choices');
      box.replaceChildren(
        ...topics.map((t) =>
          h(
            'label',
            { class: 'check', title: t.slug },
            h('input', { type: 'checkbox', name: 'topics', value: t.slug, checked: ticked.has(t.slug) }),
            ` ${t.label}`,
          ),
        ),
      );
      if (topics.length === 0) box.append(h('p', { class: 'hint' }, 'Aucune rubrique : ajoutez-en dans le panneau Rubriques.'));
    },
    refresh: changed,
  };
}
