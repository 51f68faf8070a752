// The delivery report in the editor's console, in real headless Chromium: the alert's page draws
// its curve under the console's CSP, and the figures it shows (within-target share, receipts,
// clicks, the per-service table) and the list's « … en moins de … » line are the API's.
// Leaves artifacts/console-remise.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startStack, editor, EDITOR, type Stack } from './support/stack';
import { artifact, launchChromium } from './support/browser';
import { seedPush } from './support/newsroom';
import type { DeliveryReport } from '../src/store/delivery-report';

let s: Stack;
let browser: Browser;
const problems: string[] = [];
const plain = (t: string | null) => (t ?? '').replace(/[\s\u00a0\u202f]+/g, ' ').trim();

before(
  async () => {
    s = await startStack({ DELIVERY_TARGET_SECONDS: '2' });
    browser = await launchChromium();
  },
  { timeout: 120_000 },
);
after(async () => {
  await browser?.close();
  await s?.stop();
});

test(
  'the alert page draws the delivery curve with the target line, and its figures and the list line match the report API',
  { timeout: 120_000 },
  async () => {
    // 60 readers: 45 answered at once, 15 after 3 s (past the 2-second target).
    const subs = await seedPush(s, 60);
    subs.forEach((b, i) => s.push.setBehaviour(b.id, { status: 201, delayMs: i % 4 === 0 ? 3000 : 0 }));
    const pub = await s.api('POST', '/api/alerts', { title: 'Alerte à suivre', body: 'Texte', channels: ['push'] }, editor());
    assert.equal(pub.status, 202, pub.text);
    const id = String(pub.json.id);
    await s.delivered(id, 30_000);
    // Twenty readers saw it, five opened it.
    const receipts = s.push.messages.map((m) => (m.json() as { receipt: string }).receipt);
    for (const [i, receipt] of receipts.slice(0, 20).entries()) {
      for (const event of i < 5 ? ['received', 'clicked'] : ['received'])
        assert.equal((await s.api('POST', '/api/receipts', { receipt, event })).status, 200);
    }
    const api = (await s.api('GET', `/api/alerts/${id}/report`, undefined, editor())).json as unknown as DeliveryReport;
    assert.equal(api.push.received, 20);
    assert.equal(api.push.clicked, 5);
    assert.ok(api.push.withinTarget !== null && api.push.withinTarget < 1);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    context.setDefaultTimeout(30_000);
    const page: Page = await context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // The console's first session check before sign-in is a 401, as designed.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    await page.goto(`${s.base}/console`);
    await page.locator('#token').fill(EDITOR);
    await page.keyboard.press('Enter');
    await page.locator('#workspace').waitFor({ state: 'visible' });

    // The list: « Push : 75 % en moins de 2 s · CTR 8,3 % ».
    const pct = `${Math.floor(api.push.withinTarget * 100)} %`;
    const ctr = `CTR ${(Math.round((5 / 60) * 1000) / 10).toString().replace('.', ',')} %`;
    const speed = page.locator(`li[data-id="${id}"] .speed`);
    await speed.waitFor({ state: 'visible' });
    assert.equal(plain(await speed.textContent()), `Push : ${pct} en moins de 2 s · ${ctr}`);

    await page.goto(`${s.base}/console#/alerte/${id}`);
    const chart = page.locator('#detail-report svg.curve');
    await chart.waitFor({ state: 'visible' });
    assert.equal(await page.locator('#detail-report svg.curve line.target').count(), 1, 'the target line');
    assert.equal(await page.locator('#detail-report svg.curve path.push-accepted').count(), 1);
    assert.equal(await page.locator('#detail-report svg.curve path.push-received').count(), 1);
    const figures = page.locator('#detail-report .push-figures');
    assert.equal(Number(await figures.getAttribute('data-within')), api.push.withinTarget);
    assert.equal(Number(await figures.getAttribute('data-received')), 20);
    assert.equal(Number(await figures.getAttribute('data-clicked')), 5);
    assert.equal(plain(await figures.textContent()), `${pct} en moins de 2 s · 20 affichées · ${ctr}`);
    const other = page.locator('#detail-report tr[data-service="other"] td');
    assert.equal(plain(await other.first().textContent()), '60');
    // The accepted curve ends at everyone: its last point is at the top of the plot.
    const d = (await page.locator('#detail-report path.push-accepted').getAttribute('d')) ?? '';
    const lastY = Number(d.trim().split(/[ ,]/).at(-1));
    assert.equal(lastY, 12, 'accepted reaches 100 % of the targeted');
    await page.locator('#detail').screenshot({ path: artifact('console-remise.png') });
    assert.deepEqual(problems, [], 'no script error and no CSP refusal');
    await context.close();
  },
);
