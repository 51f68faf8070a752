// @ts-check
// Entry point: decides between the sign-in form and the workspace, and routes between the
// dashboard (#/) and one alert's page (#/alerte/<id>).
import { $ } from './dom.js';
import { api, ApiFailure, setCsrf, whenSignedOut } from './api.js';
import { setupCompose } from './compose.js';
import { Deliveries } from './deliveries.js';
import { showDetail } from './detail.js';
import { currentEditor, setEditor } from './workflow.js';
import { setupTopics } from './topics.js';
import { setupSuppressions } from './suppressions.js';
import { setupQuarantine } from './quarantine.js';
import { setupWebhooks } from './webhooks.js';
import { loadDigest } from './digest.js';
import { showPerformance } from './performance.js';

/** @type {Deliveries | null} */
let deliveries = null;
/** @type {ReturnType<typeof setupCompose> | null} */
let compose = null;
/** @type {(() => void) | null} */
let closeDetail = null;
/** @type {ReturnType<typeof setupTopics> | null} */
let topics = null;
/** @type {ReturnType<typeof setupSuppressions> | null} */
let suppressions = null;
/** @type {ReturnType<typeof setupWebhooks> | null} */
let webhooks = null;
/** @type {ReturnType<typeof setupQuarantine> | null} */
let quarantine = null;

/** @param {string} text */
function flash(text) {
  const box = $('#flash');
  box.textContent = text;
  box.hidden = text === '';
}

/** Where to go after signing in: only our own admin pages, never another site. */
function nextPage() {
  const next = new URLSearchParams(location.search).get('suite');
  return next && /^\/admin\/[a-z/]*$/.test(next) ? next : null;
}

function showSignIn() {
  deliveries?.stop();
  deliveries = null;
  $('#booting').hidden = true;
  $('#workspace').hidden = true;
  $('#session-nav').hidden = true;
  $('#signin').hidden = false;
  $('#token', document, HTMLInputElement).focus();
}

/** @param {{ editor: { name: string, role: string }, csrf: string }} session */
async function showWorkspace(session) {
  setCsrf(session.csrf);
  setEditor(session.editor);
  $('#booting').hidden = true;
  $('#signin').hidden = true;
  $('#session-nav').hidden = false;
  $('#who').textContent = `${session.editor.name}${session.editor.role === 'chief' ? ' (chef d’édition)' : ''}`;
  $('#workspace').hidden = false;
  flash('');
  compose ??= setupCompose({ flash, onPublished: () => {} });
  compose.refresh();
  const composer = compose;
  topics ??= setupTopics({
    flash,
    onChange: () => {
      void composer.loadTopics();
    },
  });
  suppressions ??= setupSuppressions({ flash });
  quarantine ??= setupQuarantine({ flash });
  // Webhooks are a chief's business: the panel is not even built for an editor.
  const chief = session.editor.role === 'chief';
  if (chief) webhooks ??= setupWebhooks({ flash });
  deliveries = new Deliveries();
  route();
  await Promise.all([
    compose.loadTopics(),
    topics.load(),
    suppressions.load(),
    quarantine.load(),
    deliveries.start(),
    chief && webhooks ? webhooks.load() : null,
  ]);
  // Secondary: a failure here must not keep the workspace from working.
  loadDigest().catch(() => undefined);
}

function route() {
  if (!deliveries) return;
  closeDetail?.();
  closeDetail = null;
  const m = /^#\/alerte\/([a-z0-9]+)$/.exec(location.hash);
  const perf = location.hash === '#/performance';
  const away = m !== null || perf;
  $('.compose-grid').hidden = away;
  $('#deliveries').hidden = away;
  $('#topics').hidden = away;
  $('#suppressions').hidden = away;
  $('#quarantine').hidden = away;
  $('#webhooks').hidden = away || webhooks === null || currentEditor().role !== 'chief';
  $('#performance').hidden = !perf;
  if (m) closeDetail = showDetail(m[1] ?? '', deliveries, flash);
  if (perf) {
    $('#performance-error').textContent = '';
    showPerformance().catch((err) => {
      $('#performance-error').textContent = err instanceof Error ? err.message : String(err);
    });
  }
}

async function boot() {
  whenSignedOut(showSignIn);
  window.addEventListener('hashchange', route);

  $('#signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#token', document, HTMLInputElement);
    const error = $('#signin-error');
    error.textContent = '';
    if (!input.value.trim()) {
      error.textContent = 'Saisissez votre jeton.';
      input.focus();
      return;
    }
    try {
      const session = await api('POST', '/api/session', { token: input.value.trim() });
      input.value = '';
      const next = nextPage();
      if (next) {
        location.assign(next);
        return;
      }
      await showWorkspace(session);
      $('#f-title').focus();
    } catch (err) {
      error.textContent = err instanceof ApiFailure ? err.message : String(err);
      input.select();
    }
  });

  $('#signout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/session');
    } catch {
      /* signed out anyway */
    }
    showSignIn();
  });

  try {
    const session = await api('GET', '/api/session');
    const next = nextPage();
    if (next) {
      location.assign(next);
      return;
    }
    await showWorkspace(session);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) showSignIn();
    else {
      $('#booting').textContent = err instanceof Error ? err.message : String(err);
    }
  }
}

void boot();
