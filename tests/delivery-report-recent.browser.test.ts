// The console's « Performance » page in real headless Chromium: the last 30 days as bar charts
// (time to 90 %, share within the target, CTR per alert, with each channel's median) and a table,
// drawn under the console's CSP, every figure in the page the one GET /api/reports/recent gives.
// Leaves artifacts/console-performance.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startStack, editor, until, EDITOR, type Stack } from './support/stack';
import { artifact, launchChromium } from './support/browser';
import { confirmEmail, seedPush } from './support/newsroom';
import type { RecentReport } from '../src/store/recent-reports';

let s: Stack;
let browser: Browser;
const problems: string[] = [];

before(
  async () => {
    s = await startStack({ DELIVERY_TARGET_SECONDS: '2', PUSH_CONCURRENCY: '200' });
    browser = await launchChromium();
  },
  { timeout: 120_000 },
);
after(async () => {
  await browser?.close();
  await s?.stop();
});

/** Three alerts to 40 push readers and one email reader: late answers and clicks differ per alert. */
async function newsroomMonth(): Promise<string[]> {
  const subs = await seedPush(s, 40);
  await confirmEmail(s, 'lectrice@exemple.fr');
  const ids: string[] = [];
  for (const [n, every] of [0, 4, 2].entries()) {
    subs.forEach((b, i) => s.push.setBehaviour(b.id, { status: 201, delayMs: every > 0 && i % every === 0 ? 2600 : 0 }));
    const pushed = s.push.messages.length;
    const mailed = s.smtp.messages.length;
    const pub = await s.api(
      'POST',
      '/api/alerts',
      { title: `Alerte n° ${n + 1}`, body: 'Texte', url: 'https://www.exemple.fr/a' },
      editor(),
    );
    assert.equal(pub.status, 202, pub.text);
    const id = String(pub.json.id);
    ids.push(id);
    await s.delivered(id, 30_000);
    const receipts = s.push.messages.slice(pushed).map((m) => (m.json() as { receipt: string }).receipt);
    for (const receipt of receipts.slice(0, [6, 2, 1][n]))
      assert.equal((await s.api('POST', '/api/receipts', { receipt, event: 'clicked' })).status, 200);
    // The reader follows the first alert's email link.
    if (n === 0) {
      await s.smtp.waitFor(mailed + 1, 10_000);
      const link = /https:\/\/alertes\.example\.fr(\/r\/[\w.-]+)/.exec(s.smtp.messages.at(-1)!.text)?.[1];
      assert.ok(link, 'the email links through /r/');
      assert.equal((await s.api('GET', link)).status, 302);
    }
  }
  return ids;
}

test(
  'the Performance page draws the last 30 days as bar charts with medians and a table, every figure the recent-report API’s',
  { timeout: 180_000 },
  async (t) => {
    const ids = await newsroomMonth();
    // The email click is counted after its redirect: read the API once it is in.
    const api = await until(async () => {
      const r = (await s.api('GET', '/api/reports/recent?days=30', undefined, editor())).json as unknown as RecentReport;
      return r.alerts[0]?.email.clicked === 1 ? r : null;
    });
    assert.deepEqual(
      api.alerts.map((a) => a.id),
      ids,
    );
    assert.equal(api.medians.push.alerts, 3);
    t.diagnostic(`per alert ${JSON.stringify(api.alerts.map((a) => ({ title: a.title, push: a.push, email: a.email })))}`);
    t.diagnostic(`medians ${JSON.stringify(api.medians)}`);
    assert.equal(api.medians.email.alerts, 3);

    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
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
    await page.locator('#nav-performance').click();
    const block = page.locator('#performance .performance');
    await block.waitFor({ state: 'visible' });
    assert.equal(await page.locator('#deliveries').isVisible(), false, 'the dashboard steps aside');
    assert.equal(Number(await block.getAttribute('data-alerts')), 3);

    const values = async (selector: string) =>
      Promise.all(
        (await page.locator(selector).all()).map(async (el) => [
          await el.getAttribute('data-id'),
          Number(await el.getAttribute('data-value')),
        ]),
      );
    const expect = (ch: 'push' | 'email', k: 'p90Ms' | 'withinTarget' | 'ctr') => api.alerts.map((a) => [a.id, a[ch][k]]);
    for (const [chart, k] of [
      ['p90', 'p90Ms'],
      ['within', 'withinTarget'],
      ['ctr', 'ctr'],
    ] as const) {
      for (const ch of ['push', 'email'] as const) {
        assert.deepEqual(await values(`[data-chart="${chart}"] rect.col.${ch}`), expect(ch, k), `${chart} bars, ${ch}`);
        const median = page.locator(`[data-chart="${chart}"] g.median.${ch}`);
        assert.equal(Number(await median.getAttribute('data-value')), api.medians[ch][k], `${chart} median, ${ch}`);
      }
    }
    // The target line sits on the time-to-90 % chart only.
    assert.equal(await page.locator('[data-chart="p90"] g.target').count(), 1);
    assert.equal(Number(await page.locator('[data-chart="p90"] g.target').getAttribute('data-value')), 2000);

    // The medians as text, and the table: newest first, one row per alert.
    const push = page.locator('#performance .median-push');
    assert.equal(Number(await push.getAttribute('data-p90')), api.medians.push.p90Ms);
    assert.equal(Number(await push.getAttribute('data-within')), api.medians.push.withinTarget);
    assert.equal(Number(await push.getAttribute('data-ctr')), api.medians.push.ctr);
    assert.match((await push.textContent()) ?? '', /médiane du temps pour atteindre 90 %/);
    const rows = page.locator('#performance table.perf-table tr[data-id]');
    assert.deepEqual(await Promise.all((await rows.all()).map((r) => r.getAttribute('data-id'))), [...ids].reverse());
    for (const a of api.alerts) {
      const row = page.locator(`#performance tr[data-id="${a.id}"]`);
      assert.equal(Number(await row.locator('td.push-within').getAttribute('data-value')), a.push.withinTarget);
      assert.equal(Number(await row.locator('td.push-p90').getAttribute('data-value')), a.push.p90Ms);
      assert.equal(Number(await row.locator('td.email-ctr').getAttribute('data-value')), a.email.ctr);
      assert.equal(await row.locator('th a').textContent(), a.title);
    }
    // The first alert: everyone within 2 s, 6 clicks of 40 (« 15 % »).
    const first = page.locator(`#performance tr[data-id="${ids[0]}"]`);
    assert.equal(((await first.locator('td.push-within').textContent()) ?? '').replace(/\s/g, ' '), '100 %');
    assert.equal(((await first.locator('td.push-ctr').textContent()) ?? '').replace(/\s/g, ' '), '15 %');

    await page.locator('#performance').screenshot({ path: artifact('console-performance.png') });
    assert.deepEqual(problems, [], 'no script error and no CSP refusal');
    await context.close();
  },
);
