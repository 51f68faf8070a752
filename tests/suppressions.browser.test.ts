// The console's suppression panel in real headless Chromium: the entries a complaint and an
// editor made are listed with their reason, an editor adds one and releases one through the
// confirmation dialog, and the export link serves the CSV.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, EDITOR } from './support/stack';
import { launchChromium } from './support/browser';

test('suppression panel: lists entries with their reason, adds one, releases one after confirmation, exports CSV', async (t) => {
  const [s, browser] = await Promise.all([startStack(), launchChromium()]);
  t.after(() => Promise.all([browser.close(), s.stop()]));
  await s.app.domain.suppressions.add('fache@exemple.fr', 'complained', 'smtp');
  const page = await (await browser.newContext()).newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${s.base}/console`);
  await page.locator('#token').fill(EDITOR);
  await page.keyboard.press('Enter');
  await page.locator('#workspace').waitFor({ state: 'visible' });

  const row = page.locator('#suppression-list li[data-email="fache@exemple.fr"]');
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /signalé comme indésirable/);
  assert.match((await page.locator('#suppression-count').textContent()) ?? '', /^1 adresse$/);

  await page.locator('#s-email').fill('main@exemple.fr');
  await page.locator('#suppression-add').click();
  await page.locator('#suppression-list li[data-email="main@exemple.fr"]').waitFor();
  assert.equal((await s.app.domain.suppressions.get('main@exemple.fr'))?.reason, 'manual');
  assert.match((await page.locator('#suppression-count').textContent()) ?? '', /^2 adresses$/);

  await row.getByRole('button', { name: 'Lever' }).click();
  await page.locator('#ask-yes').click();
  await row.waitFor({ state: 'detached' });
  assert.equal(await s.app.domain.suppressions.get('fache@exemple.fr'), null);

  const csv = await page.evaluate(async () => (await fetch('/api/suppressions/export')).text());
  assert.match(csv, /^email,reason,at,by\r\nmain@exemple\.fr,manual,/);
  assert.deepEqual(problems, []);
});
