// The webhooks panel of the console, in headless Chromium: a chief registers a local https
// receiver, sees its signing secret once, and the next alert reaches the receiver signed with
// that very secret; the endpoint's log shows the answer. An editor does not see the panel.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startStack, editor, until, CHIEF, EDITOR, type Stack } from './support/stack';
import { launchChromium } from './support/browser';
import { receiverCaFile, startReceiver, type Receiver } from './support/webhook-receiver';

let s: Stack;
let browser: Browser;
let rx: Receiver;
const problems: string[] = [];

before(async () => {
  s = await startStack({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TLS_CA_FILE: receiverCaFile(mkdtempSync(join(tmpdir(), 'depeche-wh-'))) });
  rx = await startReceiver();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await rx?.close();
  await s?.stop();
});

async function signIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fr-FR' });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${s.base}/console`);
  await page.locator('#token').fill(token);
  await page.keyboard.press('Enter');
  await page.locator('#workspace').waitFor({ state: 'visible' });
  return page;
}

test('a chief registers a webhook in the console, copies its secret, and the next alert arrives signed with it', async () => {
  const page = await signIn(CHIEF);
  await page.locator('#webhooks').waitFor({ state: 'visible' });
  await page.locator('#w-url').fill(rx.url);
  await page.locator('#webhook-add').click();
  await page.locator('#webhook-secret').waitFor({ state: 'visible' });
  const secret = (await page.locator('#webhook-secret-value').textContent()) ?? '';
  assert.match(secret, /^whsec_/);
  await page.locator('#webhook-list li', { hasText: rx.url }).waitFor();

  const pub = await s.api('POST', '/api/alerts', { title: 'Tempête sur la Bretagne', channels: ['push'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  await until(async () => rx.verified(secret).some((e) => e.data.alertId === pub.json.id), 10_000);

  await page.locator('#webhook-list li', { hasText: rx.url }).getByRole('button', { name: 'Journal' }).click();
  await page.locator('.webhook-log tbody tr', { hasText: 'alert.published' }).first().waitFor();
  assert.match((await page.locator('.webhook-log tbody tr').first().textContent()) ?? '', /204/);
  assert.deepEqual(problems, []);
});

test('an editor does not see the webhooks panel', async () => {
  const page = await signIn(EDITOR);
  await page.locator('#topics').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#webhooks').isVisible(), false);
  assert.deepEqual(problems, []);
});
