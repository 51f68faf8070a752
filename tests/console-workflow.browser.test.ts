// The newsroom workflow in the editor's console, in real headless Chromium against the real app:
// schedule an alert and watch its countdown, cancel and resume it, update and correct a sent
// alert from its page, and have a chief approve an alert over APPROVAL_THRESHOLD.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startStack, editor, EDITOR, CHIEF, type Stack } from './support/stack';
import { seedPush } from './support/console';
import { artifact } from './support/browser';
import { pushesOf } from './support/newsroom';

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const SLOW = 60_000;
const CHIEF2 = 'cheffe-adjointe-token-0123456789abcdef';

let s: Stack;
let browser: Browser;
let page: Page;
const problems: string[] = [];
const plain = (t: string | null) => (t ?? '').replace(/\s+/g, ' ').trim();

before(async () => {
  s = await startStack({ APPROVAL_THRESHOLD: '5', EDITOR_TOKENS: `redaction:${EDITOR},chef:${CHIEF}:chief,cheffe:${CHIEF2}:chief` });
  await seedPush(s, 3, ['sport']);
  await seedPush(s, 4, ['politique']);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: LAUNCH_ARGS, timeout: SLOW });
});
after(async () => {
  await browser?.close();
  await s?.stop();
});

/** A fresh browser session (its own cookies) signed in with `token`: the page the test drives from then on. */
async function signIn(token: string): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
  context.setDefaultTimeout(30_000);
  page = await context.newPage();
  page.on('pageerror', (e) => {
    problems.push(e.message);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  await page.goto(`${s.base}/console`);
  await page.locator('#token').fill(token);
  await page.keyboard.press('Enter');
  await page.locator('#workspace').waitFor({ state: 'visible' });
}

/** Fills the compose form, goes through the confirmation dialog, and waits for the outcome. */
async function compose(o: { title: string; topic?: string; publishAt?: string }): Promise<string> {
  await page.locator('#f-title').fill(o.title);
  if (o.topic) await page.locator('#topic-choices label', { hasText: o.topic }).click();
  if (o.publishAt) await page.locator('#f-publish-at').fill(o.publishAt);
  await page.locator('#publish').click();
  await page.locator('#confirm').or(page.locator('#compose-error:not(:empty)')).first().waitFor({ state: 'visible' });
  assert.equal(await page.locator('#compose-error').textContent(), '', 'the form is accepted');
  const text = plain(await page.locator('#confirm-text').textContent());
  await page.locator('#confirm-send').click();
  await page.locator('#flash', { hasText: o.title }).waitFor({ timeout: SLOW });
  return text;
}

const latestId = async (title: string) => {
  const list = (await s.api('GET', '/api/alerts', undefined, editor())).json.alerts as unknown as { id: string; title: string }[];
  return list.find((a) => a.title === title)!.id;
};
const card = (id: string) => page.locator(`#alert-list [data-id="${id}"]`);
const openDetail = async (id: string) => {
  await card(id).locator('.alert-title').click();
  await page.locator('#detail').waitFor({ state: 'visible' });
};
const backToDashboard = async () => {
  await page.locator('#detail a[href="#/"]').click();
  await page.locator('#deliveries').waitFor({ state: 'visible' });
};
const action = (name: string) => page.locator(`#detail-actions [data-action="${name}"]`);
const answerYes = async () => {
  await page.locator('#ask').waitFor({ state: 'visible' });
  await page.locator('#ask-yes').click();
};

test('schedule with a countdown, cancel, resume', async () => {
  await signIn(EDITOR);
  await page.locator('#topic-choices label', { hasText: 'sport' }).waitFor();
  // Three minutes ahead on the editor's (Paris) clock, as the datetime-local field takes it.
  const at = new Date(Date.now() + 3 * 60_000);
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Paris',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  })
    .format(at)
    .replace(' ', 'T');
  const confirmText = await compose({ title: 'Conférence de presse à l’Élysée', topic: 'sport', publishAt: local });
  assert.match(confirmText, /partira le .* à \d+:\d{2} vers/);
  await page.locator('#flash', { hasText: 'programmée' }).waitFor();
  const id = await latestId('Conférence de presse à l’Élysée');
  const status = card(id).locator('.status');
  await status.filter({ hasText: /^Programmé · dans \d\s+min/ }).waitFor();
  const first = plain(await status.textContent());
  await status.filter({ hasNotText: first }).waitFor({ timeout: 10_000 }); // the countdown moves on its own

  await openDetail(id);
  assert.match(plain(await page.locator('#detail .facts').innerText()), /Programmée pour/);
  await action('cancel').click();
  await answerYes();
  await page.locator('#flash', { hasText: 'Envoi arrêté : 0 reçus, 0 non envoyés.' }).waitFor();
  await page.locator('#detail .facts .status', { hasText: 'Annulé' }).waitFor();
  assert.equal((await s.alert(id)).status, 'cancelled');
  await action('resume').click();
  await page.locator('#detail .facts .status', { hasText: /^Programmé/ }).waitFor();
  assert.equal((await s.alert(id)).status, 'scheduled');
  await action('cancel').click();
  await answerYes();
  await page.locator('#detail .facts .status', { hasText: 'Annulé' }).waitFor();
  assert.equal(pushesOf(s, id).length, 0);
  await backToDashboard();
});

test('update and correct a sent alert from its page', async () => {
  await compose({ title: 'Tour de France : abandon du maillot jaune', topic: 'sport' });
  const id = await latestId('Tour de France : abandon du maillot jaune');
  await card(id).locator('[data-status="delivered"], .status', { hasText: 'Terminé' }).first().waitFor({ timeout: SLOW });
  await openDetail(id);

  await action('update').click();
  await page.locator('#revise').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#r-title').inputValue(), 'Tour de France : abandon du maillot jaune');
  await page.locator('#r-title').fill('Tour de France : le maillot jaune repart finalement');
  await page.locator('#revise-send').click();
  await page.locator('#flash', { hasText: 'Mise à jour publiée.' }).waitFor();
  await page.locator('#detail-title', { hasText: 'repart finalement' }).waitFor();
  await page.locator('#detail .revisions li[data-rev="2"]').waitFor();

  await action('correct').click();
  await page.locator('#revise').waitFor({ state: 'visible' });
  await page.locator('#r-title').fill('Tour de France : le maillot jaune a bien abandonné');
  await page.locator('#r-body').fill('');
  await page.locator('#revise-send').click();
  await page.locator('#revise-error', { hasText: 'Le texte est obligatoire.' }).waitFor();
  await page.locator('#r-body').fill('Notre précédente alerte était erronée.');
  await page.locator('#revise-send').click();
  await page.locator('#flash', { hasText: 'Rectificatif envoyé.' }).waitFor();
  await page.locator('#detail .revisions li[data-rev="3"]', { hasText: 'Rectificatif' }).waitFor();

  const view = await s.delivered(id, SLOW);
  assert.deepEqual(
    view.revisions.map((r) => r.kind),
    ['original', 'update', 'correction'],
  );
  const byRev = (rev: number) => pushesOf(s, id).filter((p) => p.rev === rev);
  assert.equal(byRev(1).length, 3);
  assert.equal(byRev(2).length, 3);
  assert.equal(byRev(3).length, 3);
  assert.equal(byRev(3)[0].title, 'Rectificatif\u00a0: Tour de France : le maillot jaune a bien abandonné');
  assert.equal(byRev(2)[0].tag, byRev(1)[0].tag);
  await page.screenshot({ path: artifact('console-revisions.png'), fullPage: true });
  await backToDashboard();
});

test('over the threshold, the alert waits; another chief approves it from its page', async () => {
  await compose({ title: 'Remaniement : le gouvernement démissionne' });
  await page.locator('#flash', { hasText: 'en attente de l’approbation' }).waitFor();
  const id = await latestId('Remaniement : le gouvernement démissionne');
  await card(id).locator('.status', { hasText: 'À approuver' }).waitFor();
  await openDetail(id);
  assert.equal(await action('approve').count(), 0, 'an editor has no approve button');
  assert.match(plain(await page.locator('#detail .facts').innerText()), /Approbation requise \(audience de 7 abonnés\)/);

  await signIn(CHIEF);
  await openDetail(id);
  await action('approve').click();
  await answerYes();
  await page.locator('#flash', { hasText: 'Alerte approuvée' }).waitFor();
  await page.locator('#detail .facts .status', { hasText: 'Terminé' }).waitFor({ timeout: SLOW });
  assert.match(plain(await page.locator('#detail .facts').innerText()), /approuvée par chef/);
  assert.equal(pushesOf(s, id).length, 7);
  assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
});

test('topics panel: an editor adds a topic (offered in the compose form at once) and renames it; only a chief retires one', async () => {
  await signIn(EDITOR);
  const row = (slug: string) => page.locator(`#topic-list li[data-slug="${slug}"]`);
  await row('sport').waitFor();
  assert.equal(await row('sport').getByRole('button').count(), 0, 'a PAGE_TOPICS topic is changed in the configuration only');

  await page.locator('#t-slug').fill('meteo');
  await page.locator('#t-label').fill('Météo');
  await page.locator('#topic-add').click();
  await page.locator('#flash', { hasText: 'Rubrique « Météo » ajoutée.' }).waitFor();
  await page.locator('#topic-choices label', { hasText: 'Météo' }).waitFor();
  assert.equal(await row('meteo').getByRole('button', { name: 'Retirer' }).count(), 0, 'an editor cannot retire');

  await row('meteo').getByRole('button', { name: 'Renommer' }).click();
  await row('meteo').getByRole('textbox').fill('Météo et climat');
  await row('meteo').getByRole('button', { name: 'Enregistrer' }).click();
  await row('meteo').locator('.topic-label', { hasText: 'Météo et climat' }).waitFor();
  await page.locator('#topic-choices label', { hasText: 'Météo et climat' }).waitFor();

  await signIn(CHIEF);
  await page.locator('#topics').screenshot({ path: artifact('console-topics.png') });
  await row('meteo').getByRole('button', { name: 'Retirer' }).click();
  await answerYes();
  await page.locator('#flash', { hasText: 'Rubrique « Météo et climat » retirée.' }).waitFor();
  await row('meteo').waitFor({ state: 'detached' });
  const listed = (await s.api('GET', '/api/topics')).json.topics as unknown as { slug: string }[];
  assert.ok(!listed.some((t) => t.slug === 'meteo'));
  assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
});
