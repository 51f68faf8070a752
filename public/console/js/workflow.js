// @ts-check
// The newsroom workflow on an alert's page: update, correct, cancel, resume and approve. Each is
// an action of the detail view (registerAlertAction); the ones that apply depend on the alert's
// status and on who is signed in (only a chief other than the author may approve).
import { $ } from './dom.js';
import { registerAlertAction } from './detail.js';

/** @typedef {import('./deliveries.js').AlertView} AlertView */

/** @type {{ name: string, role: string }} */
let editor = { name: '', role: 'editor' };

/** Who is signed in. @param {{ name: string, role: string }} who */
export function setEditor(who) {
  editor = who;
}

/** Who is signed in (the topics panel offers retiring to chiefs only). */
export function currentEditor() {
  return editor;
}

const STOPPABLE = ['queued', 'sending', 'held', 'scheduled', 'awaiting_approval'];

/**
 * Asks a yes/no question in the #ask dialog; resolves true on yes. The safe answer has the focus.
 * @param {string} title @param {string} text @param {string} yes
 */
export function ask(title, text, yes) {
  const dialog = $('#ask', document, HTMLDialogElement);
  $('#ask-title').textContent = title;
  $('#ask-text').textContent = text;
  $('#ask-yes').textContent = yes;
  dialog.returnValue = '';
  dialog.showModal();
  $('#ask-cancel', dialog, HTMLButtonElement).focus();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true }));
}

/**
 * The #revise dialog for an update or a correction, prefilled; resolves with what the editor
 * wrote, or null when they gave up.
 * @param {{ title: string, text: string, send: string, alert: AlertView, needsBody: boolean }} o
 * @returns {Promise<{ title: string, body: string, flash: boolean } | null>}
 */
function revise(o) {
  const dialog = $('#revise', document, HTMLDialogElement);
  const form = $('#revise-form', dialog, HTMLFormElement);
  const title = $('#r-title', form, HTMLInputElement);
  const body = $('#r-body', form, HTMLTextAreaElement);
  const flash = $('#r-flash', form, HTMLInputElement);
  const error = $('#revise-error', form);
  $('#revise-title').textContent = o.title;
  $('#revise-text').textContent = o.text;
  $('#revise-send').textContent = o.send;
  title.value = o.alert.title;
  body.value = o.alert.body;
  flash.checked = false;
  error.textContent = '';
  dialog.returnValue = '';
  dialog.showModal();
  title.focus();
  return new Promise((resolve) => {
    /** @param {SubmitEvent} e */
    const onSubmit = (e) => {
      const submitter = /** @type {HTMLButtonElement | null} */ (e.submitter);
      if (submitter?.value !== 'send') return;
      const problem = !title.value.trim()
        ? 'Le titre est obligatoire.'
        : o.needsBody && !body.value.trim()
          ? 'Le texte est obligatoire.'
          : '';
      if (problem) {
        e.preventDefault();
        error.textContent = problem;
        return;
      }
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener(
      'close',
      () => {
        form.removeEventListener('submit', onSubmit);
        resolve(dialog.returnValue === 'send' ? { title: title.value.trim(), body: body.value.trim(), flash: flash.checked } : null);
      },
      { once: true },
    );
  });
}

const path = (/** @type {AlertView} */ a, /** @type {string} */ action) => `/api/alerts/${encodeURIComponent(a.id)}/${action}`;
const sent = (/** @type {AlertView} */ a) => (a.revisions ?? []).some((r) => Object.values(r.delivery).some((d) => d.sent > 0));

/**
 * An action that publishes a new revision through the #revise dialog.
 * @param {{ id: string, label: string, applies: (a: AlertView) => boolean, endpoint: string, done: string,
 *   dialog: { title: string, text: string, send: string, needsBody: boolean } }} o
 */
function revisionAction(o) {
  registerAlertAction({
    id: o.id,
    label: o.label,
    applies: o.applies,
    run: async (a, ctx) => {
      const v = await revise({ alert: a, ...o.dialog });
      if (!v) return;
      await ctx.api('POST', path(a, o.endpoint), { title: v.title, body: v.body, ...(v.flash ? { flash: true } : {}) });
      ctx.flash(o.done);
      await ctx.reload();
    },
  });
}

revisionAction({
  id: 'update',
  label: 'Mettre à jour',
  endpoint: 'updates',
  done: 'Mise à jour publiée.',
  applies: (a) => a.kind !== 'test',
  dialog: {
    title: 'Mise à jour',
    send: 'Publier la mise à jour',
    needsBody: false,
    text: 'Une nouvelle révision pour toute l’audience : sur les téléphones, elle remplace la notification précédente ; par courriel, elle arrive avec « Mise à jour » en objet.',
  },
});

revisionAction({
  id: 'correct',
  label: 'Rectifier',
  endpoint: 'corrections',
  done: 'Rectificatif envoyé.',
  applies: (a) => a.kind !== 'test' && sent(a),
  dialog: {
    title: 'Rectificatif',
    send: 'Envoyer le rectificatif',
    needsBody: true,
    text: 'Le rectificatif part uniquement aux lecteurs qui ont reçu l’alerte, par le canal où ils l’ont reçue, avec « Rectificatif » en titre.',
  },
});

registerAlertAction({
  id: 'cancel',
  label: 'Arrêter l’envoi',
  style: 'danger',
  applies: (a) => STOPPABLE.includes(a.status),
  run: async (a, ctx) => {
    const ok = await ask(
      'Arrêter l’envoi ?',
      `« ${a.title} » : ceux qui l’ont déjà reçue la garderont ; personne d’autre ne la recevra, sauf si vous reprenez l’envoi.`,
      'Arrêter l’envoi',
    );
    if (!ok) return;
    /** @type {AlertView} */
    const v = await ctx.api('POST', path(a, 'cancel'));
    const reached = Object.values(v.delivery).reduce((n, d) => n + d.sent, 0);
    const left = Object.values(v.pending ?? {}).reduce((n, x) => n + x, 0);
    ctx.flash(`Envoi arrêté : ${reached.toLocaleString('fr-FR')} reçus, ${left.toLocaleString('fr-FR')} non envoyés.`);
    await ctx.reload();
  },
});

registerAlertAction({
  id: 'resume',
  label: 'Reprendre l’envoi',
  applies: (a) => a.status === 'cancelled',
  run: async (a, ctx) => {
    await ctx.api('POST', path(a, 'resume'));
    ctx.flash('Envoi repris : personne ne la recevra deux fois.');
    await ctx.reload();
  },
});

registerAlertAction({
  id: 'approve',
  label: 'Approuver l’envoi',
  style: 'primary',
  applies: (a) => a.status === 'awaiting_approval' && editor.role === 'chief' && a.createdBy !== editor.name,
  run: async (a, ctx) => {
    const audience = a.approval?.audience ?? 0;
    const ok = await ask(
      'Approuver cette alerte ?',
      `« ${a.title} » partira vers ${audience.toLocaleString('fr-FR')} abonnés.`,
      'Approuver et envoyer',
    );
    if (!ok) return;
    await ctx.api('POST', path(a, 'approve'));
    ctx.flash('Alerte approuvée : l’envoi commence.');
    await ctx.reload();
  },
});
