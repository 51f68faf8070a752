// The readers' side of quiet hours, in real headless Chromium: the subscribe page and the email
// preference page both offer « pas d'alerte entre 22 h et 8 h », and ticking it puts the reader in
// the quiet-hours group of their clock (the browser's time zone; Paris for email).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startStack, editor, until, type Stack } from './support/stack';
import { launchChromium, Reader } from './support/browser';
import { linkIn, mailsTo, subscribeAndConfirm } from './support/email';
import type { Channel } from '../src/model';

let s: Stack;
let browser: Browser;
before(
  async () => {
    [s, browser] = await Promise.all([startStack(), launchChromium()]);
  },
  { timeout: 120_000 },
);
after(async () => {
  await browser?.close();
  await s?.stop();
});

/** Whether subscriber `id` is in the group (time zone, 22:00–08:00). */
async function inNightGroup(ch: Channel, id: number, timeZone: string): Promise<boolean> {
  const d = s.app.domain;
  const group = (await d.quiet.groups()).find((g) => g.timeZone === timeZone && g.window?.start === 22 * 3600 && g.window.end === 8 * 3600);
  return group !== undefined && (await d.redis.getbit(d.keys.audQuiet(ch, group.id), id)) === 1;
}

test('the subscribe page sends the quiet window the reader ticks, with the browser time zone', async () => {
  const sub = s.push.newSubscriber();
  const r = await Reader.open(browser, s.base, { permission: 'granted', timezoneId: 'Asia/Tokyo' });
  try {
    await r.fakePushManager(sub);
    const posted: unknown[] = [];
    r.page.on('request', (req) => {
      if (req.url().endsWith('/api/subscriptions/push') && req.method() === 'POST') posted.push(req.postDataJSON());
    });
    await r.page.goto(`${s.base}/alertes`);
    await r.page.getByLabel('Pas d’alerte entre 22 h et 8 h, sauf les alertes flash').check();
    await r.page.locator('#recevoir').click();
    await until(async () => posted.length === 1, 20_000);
    assert.deepEqual(posted[0], {
      subscription: { endpoint: sub.endpoint, expirationTime: null, keys: sub.keys },
      topics: [],
      timeZone: 'Asia/Tokyo',
      quietHours: '22:00-08:00',
      // The page's language, for the notifications' texts.
      lang: 'fr',
      applicationServerKey: String((await s.api('GET', '/api/push/public-key')).json.publicKey),
    });
    const id = await until(async () => s.app.domain.pushSubscribers.findId(sub.endpoint), 20_000);
    assert.ok(await until(async () => inNightGroup('push', id, 'Asia/Tokyo'), 20_000));

    // Coming back, the page shows the choice, and unticking it goes back to the newsroom's hours.
    await r.page.reload();
    await until(async () => r.page.getByLabel('Pas d’alerte entre 22 h et 8 h, sauf les alertes flash').isChecked(), 20_000);
    await r.page.getByLabel('Pas d’alerte entre 22 h et 8 h, sauf les alertes flash').uncheck();
    await r.page.locator('#recevoir').click();
    await until(async () => !(await inNightGroup('push', id, 'Asia/Tokyo')), 20_000);
    assert.deepEqual(r.problems, []);
  } finally {
    await r.close();
  }
});

test('the email preference page offers the same quiet window; Paris is the default clock', async () => {
  await subscribeAndConfirm(s, 'noctambule@exemple.fr');
  const n = s.smtp.messages.length;
  const pub = await s.api('POST', '/api/alerts', { title: 'Pour le lien', channels: ['email'] }, editor());
  await s.delivered(String(pub.json.id));
  const link = linkIn(mailsTo(s, 'noctambule@exemple.fr', n)[0].text, 'preferences');
  const id = Number(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, 'noctambule@exemple.fr'));

  const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
  try {
    await page.goto(s.base + link);
    const box = page.getByLabel('Pas d’alerte entre 22 h et 8 h, sauf les alertes flash');
    assert.equal(await box.isChecked(), false);
    await box.check();
    await page.getByRole('button', { name: 'Enregistrer mes heures calmes' }).click();
    await page.getByText('Vos préférences sont enregistrées.').waitFor();
    assert.equal(await page.getByLabel('Pas d’alerte entre 22 h et 8 h, sauf les alertes flash').isChecked(), true);
    assert.ok(await inNightGroup('email', id, 'Europe/Paris'));
    assert.deepEqual((await s.app.domain.emailSubscribers.get(id))!.quietHours, { start: 22 * 3600, end: 8 * 3600 });

    await page.getByLabel('Pas d’alerte entre 22 h et 8 h, sauf les alertes flash').uncheck();
    await page.getByRole('button', { name: 'Enregistrer mes heures calmes' }).click();
    await page.getByText('Vos préférences sont enregistrées.').waitFor();
    assert.equal(await inNightGroup('email', id, 'Europe/Paris'), false);
    assert.equal((await s.app.domain.emailSubscribers.get(id))!.quietHours, undefined);
  } finally {
    await page.close();
  }
  const bad = await s.api('POST', link, 'action=quiet&quietHours=03:00-04:00', {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  });
  assert.equal(bad.status, 400);
});
