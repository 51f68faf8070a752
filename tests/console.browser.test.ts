// The editor's console in real headless Chromium, against the real app, Redis, push service and
// SMTP sink: sign in, compose, check the previews and the audience, publish through the
// confirmation dialog, and watch the delivery bars move to 100 %. Leaves a screenshot of the
// finished dashboard in artifacts/console.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startStack, editor, EDITOR, type Stack } from './support/stack';
import { seedEmail, seedPush } from './support/console';

const ARTIFACTS = join(__dirname, '..', 'artifacts');
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
/** Everything that waits on the pipeline gets a lot of slack: CI machines are shared and slow. */
const SLOW = 60_000;

let s: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

/** Text as a reader sees it, with every kind of space (French no-break ones too) made plain. */
const plain = (t: string | null) => (t ?? '').replace(/\s+/g, ' ').trim();
const textOf = async (selector: string) => plain(await page.locator(selector).first().textContent());

before(async () => {
  s = await startStack();
  const sport = await seedPush(s, 30, ['sport']);
  await seedPush(s, 5, ['politique']);
  await seedPush(s, 4);
  for (const who of ['ana', 'bruno', 'chloe']) await seedEmail(s, `${who}@exemple.fr`, ['sport']);
  await seedEmail(s, 'dora@exemple.fr', ['politique']);
  // Real life on the push side: one reader uninstalled the browser, one endpoint refuses us, and
  // one push service is briefly down, so its batch is retried and the bar stops short for a while.
  s.push.setBehaviour(sport[0].id, { status: 410 });
  s.push.setBehaviour(sport[1].id, { status: 403 });
  s.push.setBehaviour(sport[2].id, { sequence: [{ status: 503 }, { status: 503 }, null] });

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: LAUNCH_ARGS, timeout: SLOW });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
  context.setDefaultTimeout(30_000);
  page = await context.newPage();
  // Failed requests are listed with their URL by the response handler below.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => {
    problems.push(e.message);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

test('an editor signs in, composes with live previews and audience, publishes and watches it land', async () => {
  await page.goto(`${s.base}/console`);

  // Sign-in, with the keyboard only.
  await page.locator('#token').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
  await page.keyboard.type('ceci-nest-pas-un-jeton');
  await page.keyboard.press('Enter');
  await page.locator('#signin-error', { hasText: 'n’est pas valide' }).waitFor();
  await page.locator('#token').fill(EDITOR);
  await page.keyboard.press('Enter');
  await page.locator('#workspace').waitFor({ state: 'visible' });
  assert.equal(await textOf('#who'), 'redaction');
  assert.equal(await page.evaluate('document.cookie'), '', 'the session cookie is httpOnly, invisible to scripts');
  // The 401s so far were expected (not signed in yet, then the wrong token); from here on, none.
  assert.deepEqual(
    problems.filter((p) => !/^401 (GET|POST) \S+\/api\/session$/.test(p)),
    [],
  );
  problems.length = 0;

  // Compose.
  const title = 'Mondiaux : la France en or sur le relais 4 × 100 m';
  const body = 'Les Bleus battent les États-Unis en finale, une première depuis 2003. « Un moment historique », dit le capitaine.';
  await page.locator('#f-title').fill(title);
  await page.locator('#f-body').fill(body);
  await page.locator('#f-url').fill('https://www.exemple.fr/sport/relais');
  await page.locator('#f-story').fill('mondiaux-athletisme');
  await page.locator('#topic-choices label', { hasText: 'sport' }).click();

  // The notification as a desktop shows it (whole title) and as a phone shows it (cut, with « … »).
  await page.locator('#pv-desktop .notif-title', { hasText: title }).waitFor();
  const phoneTitle = await textOf('#pv-phone .notif-title');
  assert.ok(phoneTitle.endsWith('…') && phoneTitle.length <= 40 && title.startsWith(phoneTitle.slice(0, -1).trim()), phoneTitle);
  assert.ok((await textOf('#pv-desktop .notif-body')).startsWith('Les Bleus battent'));
  assert.equal(await textOf('#pv-desktop .site'), 'www.exemple.fr');

  // The email from the real templates, in its sandboxed frame.
  const frame = page.frameLocator('#email-frame');
  await frame.locator('h1', { hasText: 'la France en or' }).waitFor({ timeout: SLOW });
  assert.match(plain(await frame.locator('.body, p').first().textContent()), /Les Bleus battent les États-Unis/);
  assert.equal(await page.locator('#email-frame').getAttribute('sandbox'), '');
  assert.match(await textOf('#email-subject'), /^Mondiaux : la France en or/);

  // The byte gauge, against the real payload builder's size.
  await page.locator('#gauge[data-bytes]').waitFor({ state: 'attached', timeout: SLOW });
  const bytes = Number(await page.locator('#gauge').getAttribute('data-bytes'));
  assert.ok(bytes > Buffer.byteLength(title + body) && bytes < 1000, `gauge at ${bytes} bytes`);
  assert.match(await textOf('#gauge-text'), new RegExp(`^${bytes} octets sur 3 993 \\(\\d+ %\\)$`));

  // The audience per channel for "sport": 30 followers + 4 without topics; 3 confirmed emails.
  await page.locator('#audience [data-channel="push"][data-count="34"]').waitFor({ timeout: SLOW });
  assert.equal(await page.locator('#audience [data-channel="email"]').getAttribute('data-count'), '3');
  assert.equal(await textOf('#audience [data-channel="push"] .count'), '34 abonnés push');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'console-compose.png'), fullPage: true });

  // Ctrl+Enter opens the confirmation; Escape closes it and nothing is sent.
  const alertsBefore = (await s.api('GET', '/api/alerts', undefined, editor())).json.alerts as unknown as unknown[];
  await page.locator('#f-body').press('Control+Enter');
  const dialog = page.locator('#confirm');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await page.evaluate('document.activeElement?.id'), 'confirm-cancel', 'the safe choice has the focus');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(((await s.api('GET', '/api/alerts', undefined, editor())).json.alerts as unknown as unknown[]).length, alertsBefore.length);

  // The dialog names the exact audience.
  await page.locator('#publish').click();
  await dialog.waitFor({ state: 'visible' });
  assert.match(await textOf('#confirm-text'), /^« Mondiaux : la France en or/);
  assert.equal(await textOf('#confirm-audience [data-channel="push"]'), '34 abonnés push');
  assert.equal(await textOf('#confirm-audience [data-channel="email"]'), '3 abonnés par courriel');
  assert.match(await textOf('#confirm-audience'), /Rubriques : sport/);

  // Record every value the push bar takes, to prove it moves while sending.
  // (Evaluated in the page, where `document` exists; the tests compile without the DOM types.)
  await page.evaluate(`
    window.seen = [];
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('#alert-list [data-channel="push"] [role="progressbar"]')) window.seen.push(Number(el.getAttribute('aria-valuenow')));
    }).observe(document.querySelector('#alert-list'), { subtree: true, attributes: true, childList: true });
  `);
  await page.locator('#confirm-send').click();
  await page.locator('#flash', { hasText: 'publiée' }).waitFor({ timeout: SLOW });

  const alerts = (await s.api('GET', '/api/alerts', undefined, editor())).json.alerts as unknown as {
    id: string;
    title: string;
    story?: string;
    topics: string[];
  }[];
  assert.equal(alerts.length, alertsBefore.length + 1);
  const published = alerts[0];
  assert.equal(published.title, title);
  assert.deepEqual(published.topics, ['sport']);
  assert.equal(published.story, 'mondiaux-athletisme');

  // The bars reach 100 % on both channels, and the card says so in words.
  const card = page.locator(`#alert-list [data-id="${published.id}"]`);
  await card.locator('[data-channel="push"][data-percent="100"]').waitFor({ timeout: SLOW });
  await card.locator('[data-channel="email"][data-percent="100"]').waitFor({ timeout: SLOW });
  await page.locator(`#alert-list [data-id="${published.id}"][data-status="delivered"]`).waitFor({ timeout: SLOW });
  assert.equal(await card.locator('.status').textContent(), 'Terminé');
  // The delivery lane chosen at publish (this stack keeps urgent alerts out of the flash lane).
  assert.equal(await card.locator('.lane').textContent(), 'File normale');
  assert.equal(
    plain(await card.locator('[data-channel="push"] .figures').textContent()),
    '34 ciblés · 32 envoyés · 1 échec · 1 expiré · 0 clic · 100 %',
  );
  assert.equal(
    plain(await card.locator('[data-channel="email"] .figures').textContent()),
    '3 ciblés · 3 envoyés · 0 échec · 0 rejeté · 100 %',
  );
  const seen = await page.evaluate<number[]>('window.seen');
  assert.ok(
    seen.some((v) => v > 0 && v < 100),
    `the push bar showed progress before the end (values seen: ${[...new Set(seen)].join(', ')})`,
  );

  // What the readers really got.
  const sportMails = s.smtp.messages.filter(
    (m) => m.subject === 'Mondiaux\u00a0: la France en or sur le relais 4 × 100 m' || m.subject.startsWith('Mondiaux'),
  );
  assert.deepEqual(sportMails.map((m) => m.to[0]).sort(), ['ana@exemple.fr', 'bruno@exemple.fr', 'chloe@exemple.fr']);
  assert.equal(s.push.messages.filter((m) => (m.json() as { id: string }).id === published.id).length, 32);

  await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });

  // The alert's own page: content, figures, and the actions area later issues fill in.
  await card.locator('.alert-title').click();
  await page.locator('#detail-title', { hasText: title }).waitFor();
  assert.equal(await page.evaluate('document.activeElement?.id'), 'detail-title');
  await page.locator('#detail [data-channel="push"][data-percent="100"]').waitFor();
  assert.match(plain(await page.locator('#detail .facts').innerText()), /Dossier mondiaux-athletisme/);
  assert.match(plain(await page.locator('#detail .facts').innerText()), /File d’envoi File normale/);
  assert.equal(await page.locator('#detail-actions').count(), 1);
  await page.frameLocator('#detail-email').locator('h1', { hasText: 'la France en or' }).waitFor({ timeout: SLOW });
  await page.goBack();
  await page.locator('#deliveries').waitFor({ state: 'visible' });

  assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
});

test('the console fits a phone screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${s.base}/console`);
  await page.locator('#alert-list .alert-card').first().waitFor();
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  assert.ok(overflow <= 0, `no horizontal scrolling at 390 px (overflow ${overflow} px)`);
  await page.screenshot({ path: join(ARTIFACTS, 'console-phone.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('bull-board opens for the signed-in editor; signing out closes it', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${s.base}/admin/queues`);
  await page.getByText('fanout').first().waitFor({ timeout: SLOW });
  await page.goto(`${s.base}/console`);
  await page.locator('#signout').click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  const res = await page.goto(`${s.base}/admin/queues`);
  assert.ok(res);
  assert.match(page.url(), /\/console\?suite=%2Fadmin%2Fqueues$/);
  // Signing in again from there leads back to the queues.
  await page.locator('#token').fill(EDITOR);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/admin\/queues$/, { timeout: SLOW });
});
