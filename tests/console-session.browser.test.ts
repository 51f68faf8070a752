// The console in real headless Chromium when its session ends under it: the token withdrawn
// from EDITOR_TOKENS (the API restarted elsewhere on the same Redis) ends the session, the live
// stream says so, and the console goes back to its sign-in form by itself, without a click.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startStack, EDITOR, CHIEF, type Stack } from './support/stack';
import { launchChromium } from './support/browser';
import { startApi } from './support/api-process';

let s: Stack;
let browser: Browser;
before(async () => {
  s = await startStack({ SESSION_RECHECK_INTERVAL: '1s' }, { api: true, worker: true }, { cluster: false });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await s?.stop();
});

test('withdrawing the token of a signed-in editor brings the console back to the sign-in form, with no click', async () => {
  const context = await browser.newContext({ locale: 'fr-FR' });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => {
    problems.push(e.message);
  });
  await page.goto(`${s.base}/console`);
  await page.locator('#token').fill(EDITOR);
  await page.keyboard.press('Enter');
  await page.locator('#workspace').waitFor({ state: 'visible' });
  await page.locator('#live[data-state="open"]').waitFor();

  const cookie = (await context.cookies()).find((c) => c.name === 'dp_session');
  assert.ok(cookie);
  const restarted = await startApi(s, { EDITOR_TOKENS: `chef:${CHIEF}:chief` });
  try {
    assert.equal((await restarted.api('GET', '/api/session', undefined, { cookie: `dp_session=${cookie.value}` })).status, 401);
  } finally {
    await restarted.stop();
  }
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#workspace').isVisible(), false);
  assert.deepEqual(problems, []);
  await context.close();
});
