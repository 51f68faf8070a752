// The signup box a news site embeds (/embed.js), in real headless Chromium, on a page served by
// another loopback origin: the reader signs up by email (cross-origin, with the page's language),
// turns on push through the site's own one-line worker importing our sw-core.js, and an alert
// reaches that worker; a site missing from CORS_ORIGINS is refused by the browser. axe-core checks
// the box inside its shadow root.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startStack, editor, until, type Stack } from './support/stack';
import { artifact, launchChromium, Reader } from './support/browser';
import { articlePage, freePort, startSite, type Site } from './support/site';
import { seriousViolations } from './support/axe';
import { mailsTo } from './support/email';
import { TEMPLATES_DIR } from '../src/email/render';

const T = { timeout: 120_000 };
let s: Stack;
let site: Site;
let stranger: Site;
let browser: Browser;
const readers: Reader[] = [];

before(
  async () => {
    // The stack listens where its PUBLIC_BASE_URL says: the site's worker reaches us by that address.
    const port = await freePort();
    const ours = `http://127.0.0.1:${port}`;
    const pages = {
      '/fr.html': articlePage(ours, { lang: 'fr', tag: { 'data-topics': 'international', 'data-sw': '/sw.js' } }),
      '/en.html': articlePage(ours, { lang: 'en', tag: { 'data-topics': 'international' } }),
      '/div.html': articlePage(ours, { lang: 'fr', tag: {} }).replace(
        '<article>',
        '<div data-depeche data-topics="culture" data-lang="en"></div><article>',
      ),
    };
    site = await startSite(ours, pages);
    stranger = await startSite(ours, pages);
    s = await startStack({
      PORT: String(port),
      PUBLIC_BASE_URL: ours,
      CORS_ORIGINS: site.origin,
      PAGE_TOPICS: 'international:International,culture:Culture',
    });
    assert.equal(s.base, ours);
    browser = await launchChromium();
  },
  { timeout: 120_000 },
);

after(async () => {
  for (const r of readers) await r.close().catch(() => {});
  await browser?.close();
  await s?.stop();
  await site?.close();
  await stranger?.close();
});

async function reader(origin: string, opts: Parameters<typeof Reader.open>[2] = {}): Promise<Reader> {
  const r = await Reader.open(browser, origin, opts);
  readers.push(r);
  return r;
}

/** The box's live region, as read aloud (French no-break spaces compare as spaces). */
const said = async (page: Page) =>
  ((await page.locator('[data-depeche-box] .status, [data-depeche] .status').first().textContent()) ?? '').replace(/[\u00a0\u202f]/g, ' ');

/** Bodies the page posted to one of our API paths. */
function posted(page: Page, path: string): unknown[] {
  const bodies: unknown[] = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === path) bodies.push(req.postDataJSON());
  });
  return bodies;
}

test(
  'the box on another origin signs a reader up by email in the page’s language (lang="en"), and the confirmation mail arrives',
  T,
  async () => {
    const r = await reader(site.origin);
    const bodies = posted(r.page, '/api/subscriptions/email');
    await r.page.goto(`${site.origin}/en.html`);
    // Playwright's locators pierce open shadow roots: these are the box's own labelled fields.
    await r.page.getByLabel('Your email address').fill('reader.en@example.org');
    await r.page.getByRole('button', { name: 'Sign up' }).click();
    await until(async () => (await said(r.page)).startsWith('Tick the box'), 10_000);
    await r.page.getByLabel(/I agree to receive/).check();
    await r.page.getByRole('button', { name: 'Sign up' }).click();
    await until(async () => (await said(r.page)).startsWith('Almost done'), 20_000);
    assert.equal(await r.page.locator('[data-depeche-box] .status').getAttribute('role'), 'status');
    assert.equal(await r.page.getByRole('button', { name: 'Get alerts on this device' }).count(), 0, 'no data-sw: no push button');
    assert.equal(bodies.length, 1);
    const body = bodies[0] as Record<string, unknown>;
    assert.deepEqual(
      { ...body, timeZone: undefined },
      { email: 'reader.en@example.org', topics: ['international'], lang: 'en', timeZone: undefined },
    );
    assert.equal(body.timeZone, 'Europe/Paris');

    const mail = await until(async () => mailsTo(s, 'reader.en@example.org')[0], 15_000);
    assert.match(mail.text, new RegExp(`${s.base}/api/subscriptions/email/confirm\\?token=`));
    // The box is the site's width, whatever the site's CSS says about inputs and buttons.
    const width = await r.page.evaluate('document.querySelector("[data-depeche-box]").getBoundingClientRect().width');
    const article = await r.page.evaluate('document.querySelector("main").getBoundingClientRect().width');
    assert.equal(width, article);
    const font = await r.page.locator('[data-depeche-box] button').first().evaluate('(b) => getComputedStyle(b).fontFamily');
    assert.doesNotMatch(String(font), /monospace/, "the site's button rule does not reach the box");
    assert.deepEqual(r.problems, []);
    await r.page.screenshot({ path: artifact('embed-en.png'), fullPage: true });
  },
);

// Enabled once the languages work (templates/i18n/en.json and `lang` on subscribe) is merged.
const english = join(TEMPLATES_DIR, 'i18n', 'en.json');
test(
  'LANGUAGES: the confirmation mail of a reader who signed up on a lang="en" page is in English',
  { ...T, skip: existsSync(english) ? false : 'needs templates/i18n/en.json (issue 16, languages)' },
  async () => {
    const strings = JSON.parse(readFileSync(english, 'utf8')) as { confirmSubject: string };
    const mail = await until(async () => mailsTo(s, 'reader.en@example.org')[0], 15_000);
    assert.equal(mail.subject, strings.confirmSubject);
  },
);

test(
  'turning on alerts from the box registers the site’s one-line worker, which shows our alert with our icon and reports back to us',
  T,
  async () => {
    const sub = s.push.newSubscriber();
    const r = await reader(site.origin, { permission: 'granted', timezoneId: 'America/Martinique' });
    await r.fakePushManager(sub);
    const bodies = posted(r.page, '/api/subscriptions/push');
    await r.page.goto(`${site.origin}/fr.html`);
    await r.page.getByRole('button', { name: 'Recevoir les alertes sur cet appareil' }).focus();
    await r.page.keyboard.press('Enter');
    await until(async () => (await said(r.page)).startsWith('C’est fait'), 20_000);
    const publicKey = String((await s.api('GET', '/api/push/public-key')).json.publicKey);
    assert.deepEqual(await r.subscribeCalls(), [{ userVisibleOnly: true, key: publicKey }]);
    assert.deepEqual(bodies, [
      {
        subscription: { endpoint: sub.endpoint, expirationTime: null, keys: sub.keys },
        topics: ['international'],
        applicationServerKey: publicKey,
        lang: 'fr',
        timeZone: 'America/Martinique',
      },
    ]);
    // The worker is the site's, at the site's root.
    const worker = await r.serviceWorker();
    assert.equal(worker.url(), `${site.origin}/sw.js`);

    const pub = await s.api(
      'POST',
      '/api/alerts',
      {
        title: 'Sommet européen : accord sur le budget',
        body: 'Les Vingt-Sept s’entendent.',
        topics: ['international'],
        channels: ['push'],
      },
      editor(),
    );
    assert.equal(pub.status, 202, pub.text);
    const id = String(pub.json.id);
    const message = await until(async () => s.push.messages.find((m) => m.subscriberId === sub.id), 15_000);
    await r.deliverPush(message.payload);
    const [shown] = await until(async () => {
      const n = await r.notifications();
      return n.length > 0 ? n : null;
    }, 15_000);
    assert.equal(shown.title, 'Sommet européen : accord sur le budget');
    // sw-core.js runs on the site's origin, yet names OUR files and API: the icon, and the receipt.
    assert.equal(shown.icon, `${s.base}/static/icone-192.png`);
    const report = async () => (await s.api('GET', `/api/alerts/${id}/report`, undefined, editor())).json.push;
    await until(async () => Number((await report()).received) === 1, 15_000);
    assert.deepEqual(r.problems, []);
  },
);

test('a <div data-depeche> is filled with its own attributes; the box has no serious or critical axe violation', T, async () => {
  const r = await reader(site.origin);
  await r.page.goto(`${site.origin}/div.html`);
  await r.page.locator('[data-depeche] h2', { hasText: 'Stay informed' }).waitFor();
  assert.equal(await r.page.locator('[data-depeche-box]').count(), 0, 'no second box after the tag');
  assert.equal(await r.page.locator('[data-depeche] .box').getAttribute('lang'), 'en');
  // Keyboard: Tab reaches the address field first (then the consent, then the button), with a visible outline.
  await r.page.keyboard.press('Tab');
  const focused = await r.page.evaluate('document.querySelector("[data-depeche]").shadowRoot.activeElement.id');
  assert.equal(focused, 'adresse');
  const outline = await r.page.evaluate('getComputedStyle(document.querySelector("[data-depeche]").shadowRoot.activeElement).outlineStyle');
  assert.equal(outline, 'solid');
  assert.deepEqual(await seriousViolations(r.page), []);
  const fr = await reader(site.origin);
  await fr.page.goto(`${site.origin}/fr.html`);
  await fr.page.getByRole('button', { name: 'Recevoir les alertes sur cet appareil' }).waitFor();
  assert.deepEqual(await seriousViolations(fr.page), []);
});

test('a site missing from CORS_ORIGINS is refused by the browser: the box says so and nothing is stored or sent', T, async () => {
  const r = await reader(stranger.origin);
  const failed: string[] = [];
  r.page.on('requestfailed', (req) => failed.push(`${req.method()} ${new URL(req.url()).pathname}`));
  await r.page.goto(`${stranger.origin}/en.html`);
  await r.page.getByLabel('Your email address').fill('stranger@example.org');
  await r.page.getByLabel(/I agree to receive/).check();
  await r.page.getByRole('button', { name: 'Sign up' }).click();
  await until(async () => (await said(r.page)).startsWith('Our servers could not'), 20_000);
  assert.deepEqual(failed, ['POST /api/subscriptions/email']);
  assert.equal(await s.app.domain.emailSubscribers.idOf('stranger@example.org'), null);
  // The preflight the browser made: no permission for that origin, one for the site.
  const preflight = (origin: string) =>
    fetch(`${s.base}/api/subscriptions/email`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
  assert.equal((await preflight(stranger.origin)).headers.get('access-control-allow-origin'), null);
  assert.equal((await preflight(site.origin)).headers.get('access-control-allow-origin'), site.origin);
  // The scripts a site loads from us are served for use on other origins.
  for (const path of ['/embed.js', '/sw-core.js', '/static/commun.js', '/static/icone-192.png']) {
    const res = await fetch(`${s.base}${path}`);
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin', path);
  }
  const embed = await fetch(`${s.base}/embed.js`);
  assert.equal(embed.headers.get('cache-control'), 'public, max-age=300');
  assert.match(embed.headers.get('content-type') ?? '', /^text\/javascript/);
});

test(
  'the demo article (outside production) ends with the box, loaded by the same tag a site uses, with the push button, under a strict CSP',
  T,
  async () => {
    const r = await reader(s.base);
    const res = await r.page.goto(`${s.base}/demo/article`);
    const csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(
      (await res?.text()) ?? '',
      new RegExp(`<script src="${s.base}/embed.js" async data-topics="[a-z]+" data-lang="fr" data-sw="/sw.js"></script>`),
    );
    await r.page.getByRole('heading', { name: /Restez informé/ }).waitFor();
    await r.page.getByRole('button', { name: 'Recevoir les alertes sur cet appareil' }).waitFor();
    assert.equal(await r.scrollsSideways(), false, 'no sideways scrolling at 390 px');
    assert.deepEqual(await seriousViolations(r.page), []);
    assert.deepEqual(r.problems, [], 'no CSP violation, no script error');
    await r.page.screenshot({ path: artifact('demo-article.png'), fullPage: true });
  },
);
