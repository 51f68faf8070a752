// The newsletter form of /alertes in real headless Chromium: signing up (topics, « un résumé
// quotidien à HH:MM »), the French message for every outcome, and axe-core's check of the pages a
// reader or an editor uses: /alertes, the email preference page, the signed-in console.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startStack, EDITOR, until, type Stack } from './support/stack';
import { artifact, launchChromium, Reader } from './support/browser';
import { seriousViolations } from './support/axe';
import { mailsTo } from './support/email';

const T = { timeout: 120_000 };
let s: Stack;
let browser: Browser;
const readers: Reader[] = [];

before(
  async () => {
    s = await startStack({ PAGE_TOPICS: 'politique:Politique,sport:Sport,culture:Culture' });
    browser = await launchChromium();
  },
  { timeout: 120_000 },
);

after(async () => {
  for (const r of readers) await r.close().catch(() => {});
  await browser?.close();
  await s?.stop();
});

async function page(): Promise<Reader> {
  const r = await Reader.open(browser, s.base);
  readers.push(r);
  await r.page.goto(`${s.base}/alertes`);
  return r;
}

/** The newsletter's live region, as read aloud (French no-break spaces compare as spaces). */
const said = async (p: Page) => ((await p.locator('#lettre-etat').textContent()) ?? '').replace(/[\u00a0\u202f]/g, ' ');
const submit = (p: Page) => p.getByRole('button', { name: 'M’abonner par courriel' }).click();

function posted(p: Page): unknown[] {
  const bodies: unknown[] = [];
  p.on('request', (req) => {
    if (req.method() === 'POST' && req.url().endsWith('/api/subscriptions/email')) bodies.push(req.postDataJSON());
  });
  return bodies;
}

test(
  '/alertes: a reader signs up to a daily summary at 18:30 on a topic, is told to check the inbox, gets the mail; asking again says a link was already sent',
  T,
  async () => {
    const r = await page();
    const bodies = posted(r.page);
    await r.page.getByLabel('Sport').check();
    await r.page.getByLabel('Votre adresse électronique').fill('lectrice@exemple.fr');
    await r.page.getByLabel('Heure du résumé').fill('18:30');
    // Choosing a time ticks « un résumé par jour » for the reader.
    assert.equal(await r.page.getByLabel('Un résumé par jour, à').isChecked(), true);
    await submit(r.page);
    await until(async () => (await said(r.page)).startsWith('Cochez la case'), 10_000);
    assert.equal(bodies.length, 0, 'nothing is sent without consent');
    await r.page.getByLabel(/J’accepte de recevoir/).check();
    await submit(r.page);
    await until(async () => (await said(r.page)).startsWith('C’est presque fini'), 20_000);
    assert.match(await said(r.page), /vérifiez votre boîte de réception \(lectrice@exemple\.fr\)/);
    assert.equal(await r.page.locator('#lettre-etat').getAttribute('class'), 'ok');
    assert.deepEqual(bodies, [{ email: 'lectrice@exemple.fr', topics: ['sport'], lang: 'fr', timeZone: 'Europe/Paris', digest: '18:30' }]);
    const mail = await until(async () => mailsTo(s, 'lectrice@exemple.fr')[0], 15_000);
    assert.equal(mail.subject, 'Confirmez votre abonnement aux alertes');
    const id = await s.app.domain.emailSubscribers.idOf('lectrice@exemple.fr');
    assert.ok(id !== null);
    const sub = await s.app.domain.emailSubscribers.get(id);
    assert.deepEqual([sub?.status, sub?.topics, sub?.digest], ['pending', ['sport'], '18:30']);

    await submit(r.page);
    await until(async () => (await said(r.page)).startsWith('Un lien de confirmation a déjà été envoyé'), 20_000);
    assert.equal(await r.scrollsSideways(), false, 'no sideways scrolling at 390 px');
    assert.deepEqual(r.problems, []);
    await r.page.screenshot({ path: artifact('alertes-lettre.png'), fullPage: true });
  },
);

test(
  '/alertes: an address the browser or our API refuses gets the French « adresse » message, with focus back on the field',
  T,
  async () => {
    const r = await page();
    const bodies = posted(r.page);
    await r.page.getByLabel(/J’accepte de recevoir/).check();
    const address = r.page.getByLabel('Votre adresse électronique');
    await address.fill('pas-une-adresse');
    await submit(r.page);
    await until(async () => (await said(r.page)).startsWith('Cette adresse électronique ne semble pas valide'), 10_000);
    assert.equal(await address.getAttribute('aria-invalid'), 'true');
    assert.equal(await r.focused(), 'email:pas-une-adresse');
    assert.equal(bodies.length, 0);
    // The browser accepts a domain without a dot; our API does not (400, field "email").
    await address.fill('lecteur@exemple');
    await submit(r.page);
    await until(
      async () => bodies.length === 1 && (await said(r.page)).startsWith('Cette adresse électronique ne semble pas valide'),
      20_000,
    );
    assert.equal(await r.page.locator('#lettre-etat').getAttribute('class'), 'error');
    assert.deepEqual(
      r.problems.filter((p) => !p.includes('status of 400')),
      [],
    );
  },
);

// The API's other refusals cannot be provoked from this page without changing the stack (a rate
// limit, a retired topic, an outage), so the browser is answered exactly as our API would answer.
test('/alertes: too many tries (429), a retired topic (unknown_topic) and a server error each get their French message', T, async () => {
  const r = await page();
  await r.page.getByLabel('Votre adresse électronique').fill('lecteur@exemple.fr');
  await r.page.getByLabel(/J’accepte de recevoir/).check();
  const cases: [number, unknown, string][] = [
    [429, { error: { code: 'too_many_requests', message: 'too many requests' } }, 'Trop de tentatives depuis votre connexion'],
    [
      400,
      { error: { code: 'unknown_topic', message: 'topic "x" does not exist', details: { topic: 'x' } } },
      'Un des thèmes cochés n’est plus proposé',
    ],
    [500, { error: { code: 'internal', message: 'internal error' } }, 'Nos serveurs n’ont pas pu enregistrer votre demande'],
  ];
  for (const [status, json, text] of cases) {
    await r.page.route('**/api/subscriptions/email', (route) => route.fulfill({ status, json }));
    await submit(r.page);
    await until(async () => (await said(r.page)).startsWith(text), 10_000);
    await r.page.unroute('**/api/subscriptions/email');
  }
});

test('axe-core finds no serious or critical violation on /alertes, the email preference page and the signed-in console', T, async () => {
  const r = await page();
  await r.page.locator('#recevoir:not([disabled])').waitFor();
  assert.deepEqual(await seriousViolations(r.page), [], '/alertes');

  const id = await s.app.domain.emailSubscribers.idOf('lectrice@exemple.fr');
  assert.ok(id !== null, 'the first test signed this reader up');
  await r.page.goto(`${s.base}/api/subscriptions/email/preferences?token=${s.app.domain.tokens.sign('prefs', id)}`);
  await r.page.locator('h1').waitFor();
  assert.deepEqual(await seriousViolations(r.page), [], 'the preference page');

  const editor = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR' });
  try {
    const p = await editor.newPage();
    await p.goto(`${s.base}/console`);
    await p.locator('#token').fill(EDITOR);
    await p.keyboard.press('Enter');
    await p.locator('#workspace').waitFor({ state: 'visible', timeout: 20_000 });
    assert.deepEqual(await seriousViolations(p), [], 'the console, signed in');
  } finally {
    await editor.close();
  }
});
