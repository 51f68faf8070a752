// @ts-check
// The topics panel: the newsroom's topics, the only ones readers may choose. Editors add one or
// change its label; a chief retires one (it cannot be undone: its followers lose it). Topics
// declared in the configuration (PAGE_TOPICS) are changed there, not here.
import { $, h } from './dom.js';
import { api } from './api.js';
import { applier } from './panel.js';
import { ask, currentEditor } from './workflow.js';

/** @typedef {{ slug: string, label: string, declared: boolean }} Topic */

const SLUG = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** @param {{ flash: (text: string) => void, onChange: () => void }} hooks */
export function setupTopics(hooks) {
  const list = $('#topic-list');
  const form = $('#topic-form', document, HTMLFormElement);
  const errorBox = $('#topic-error');

  // After a change, the panel and the compose choices are reloaded.
  const apply = applier(errorBox, hooks.flash, async () => {
    await load();
    hooks.onChange();
  });

  /** @param {Topic} t */
  function row(t) {
    const name = h('span', { class: 'topic-label' }, t.label);
    const li = h('li', { 'data-slug': t.slug }, name, ' ', h('code', {}, t.slug));
    if (t.declared) {
      li.append(' ', h('span', { class: 'muted' }, '(configuration)'));
      return li;
    }
    const rename = h('button', { type: 'button', class: 'link' }, 'Renommer');
    rename.addEventListener('click', () => {
      const input = /** @type {HTMLInputElement} */ (
        h('input', { value: t.label, maxlength: 60, 'aria-label': `Nouveau libellé de ${t.slug}` })
      );
      const save = h('button', { type: 'submit', class: 'secondary' }, 'Enregistrer');
      const edit = h('form', { class: 'topic-edit' }, input, save);
      edit.addEventListener('submit', async (e) => {
        e.preventDefault();
        await apply(async () => {
          await api('PATCH', `/api/topics/${t.slug}`, { label: input.value.trim() });
          return `Rubrique « ${t.slug} » renommée « ${input.value.trim()} ».`;
        });
      });
      name.replaceWith(edit);
      rename.remove();
      input.focus();
    });
    li.append(' ', rename);
    if (currentEditor().role === 'chief') {
      const retire = h('button', { type: 'button', class: 'link danger-link' }, 'Retirer');
      retire.addEventListener('click', async () => {
        const yes = await ask(
          `Retirer la rubrique « ${t.label} » ?`,
          'Les lecteurs ne pourront plus la choisir et ceux qui la suivent la perdront. C’est définitif.',
          'Retirer',
        );
        if (yes)
          await apply(async () => {
            await api('DELETE', `/api/topics/${t.slug}`);
            return `Rubrique « ${t.label} » retirée.`;
          });
      });
      li.append(' ', retire);
    }
    return li;
  }

  async function load() {
    const { topics } = /** @type {{ topics: Topic[] }} */ (await api('GET', '/api/topics'));
    list.replaceChildren(...topics.map(row));
    if (topics.length === 0) list.append(h('li', { class: 'muted' }, 'Aucune rubrique.'));
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const slug = String(data.get('slug') ?? '')
      .trim()
      .toLowerCase();
    const label = String(data.get('label') ?? '').trim();
    if (!SLUG.test(slug)) {
      errorBox.textContent = 'Identifiant : lettres minuscules, chiffres et tirets (40 au plus).';
      return;
    }
    if (!label) {
      errorBox.textContent = 'Le libellé est obligatoire.';
      return;
    }
    if (
      await apply(async () => {
        await api('POST', '/api/topics', { slug, label });
        return `Rubrique « ${label} » ajoutée.`;
      })
    )
      form.reset();
  });

  return { load };
}
