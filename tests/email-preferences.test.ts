// The preference page behind every email's signed link, used as a reader uses it: in a browser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startStack, editor, type Stack } from './support/stack';
import { linkIn, mailsTo, subscribeAndConfirm } from './support/email';
import { launchChromium } from './support/browser';

let s: Stack;
let browser: Browser;
before(async () => {
  [s, browser] = await Promise.all([startStack(), launchChromium()]);
});
after(async () => {
  await browser.close();
  await s.stop();
});

const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

async function alertTo(address: string, title: string, topics: string[] = []): Promise<boolean> {
  const n = s.smtp.messages.length;
  const r = await s.api('POST', '/api/alerts', { title, body: '', topics, channels: ['email'] }, editor());
  await s.delivered(String(r.json.id));
  return mailsTo(s, address, n).length > 0;
}

/** A reader's preference link, taken from an alert email they received. */
async function prefsLink(address: string): Promise<string> {
  const n = s.smtp.messages.length;
  assert.ok(await alertTo(address, 'Pour trouver le lien'));
  return linkIn(mailsTo(s, address, n)[0].text, 'preferences');
}

async function open(link: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
  await page.goto(s.base + link);
  return page;
}

const subscriber = async (address: string) => {
  const id = await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, address);
  return id ? s.app.domain.emailSubscribers.get(Number(id)) : null;
};

test('topics: the reader changes them on the page and gets alerts accordingly', async () => {
  // PAGE_TOPICS (the newsroom's list) is offered, and any other active topic the reader follows.
  assert.equal((await s.api('POST', '/api/topics', { slug: 'jeux-video', label: 'Jeux vidéo' }, editor())).status, 201);
  await subscribeAndConfirm(s, 'suzanne@exemple.fr', ['sport', 'jeux-video']);
  assert.ok(await alertTo('suzanne@exemple.fr', 'Sport', ['sport']));
  const link = await prefsLink('suzanne@exemple.fr');

  const get = await s.api('GET', link);
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('cache-control'), 'no-store');
  assert.equal(get.headers.get('referrer-policy'), 'no-referrer');
  assert.equal((await subscriber('suzanne@exemple.fr'))!.status, 'confirmed', 'GET changes nothing');

  const page = await open(link);
  try {
    assert.ok(await page.getByText('Adresse\u00a0: suzanne@exemple.fr').isVisible());
    assert.ok(await page.getByText('Vous recevez nos alertes.').isVisible());
    assert.ok(await page.getByLabel('Sport').isChecked());
    assert.ok(await page.getByLabel('Jeux vidéo').isChecked());
    assert.ok(!(await page.getByLabel('Politique').isChecked()));
    assert.ok(await page.getByLabel('Économie').isVisible());
    await page.getByLabel('Politique').check();
    await page.getByLabel('Sport').uncheck();
    await page.getByLabel('Jeux vidéo').uncheck();
    await page.getByRole('button', { name: 'Enregistrer', exact: true }).click();
    await page.getByText('Vos préférences sont enregistrées.').waitFor();
    assert.ok(await page.getByLabel('Politique').isChecked());
  } finally {
    await page.close();
  }
  assert.deepEqual((await subscriber('suzanne@exemple.fr'))!.topics, ['politique']);
  assert.equal(await alertTo('suzanne@exemple.fr', 'Encore du sport', ['sport']), false);
  assert.equal(await alertTo('suzanne@exemple.fr', 'Encore de la politique', ['politique']), true);
  assert.equal(await alertTo('suzanne@exemple.fr', 'Pour tout le monde'), true);

  // The same for a program, in JSON; bad topics are refused and change nothing.
  const bad = await s.api('POST', link, { action: 'topics', topics: ['Pas Un Slug'] }, { accept: 'application/json' });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error.message), /^topics/);
  const none = await s.api('POST', link, 'action=topics', { ...form, accept: 'application/json' });
  assert.deepEqual(none.json, { status: 'confirmed', topics: [] });
});

test('download my data: a JSON file with what we keep', async () => {
  await subscribeAndConfirm(s, 'donnees@exemple.fr', ['culture']);
  const link = await prefsLink('donnees@exemple.fr');
  const page = await open(link);
  try {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Télécharger mes données (JSON)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'depeche-mes-donnees.json');
  } finally {
    await page.close();
  }
  const data = await s.api('GET', link.replace('/preferences?', '/preferences/data?'));
  assert.equal(data.status, 200);
  assert.match(data.headers.get('content-disposition')!, /^attachment/);
  const sub = data.json.subscription;
  assert.equal(String(sub.email), 'donnees@exemple.fr');
  assert.deepEqual(sub.topics, ['culture']);
  assert.equal(String(sub.status), 'confirmed');
  assert.ok(sub.createdAt && sub.confirmedAt);
});

test('unsubscribe and come back from the page; the unsubscribe link leads to it too', async () => {
  await subscribeAndConfirm(s, 'aller-retour@exemple.fr');
  const n = s.smtp.messages.length;
  assert.ok(await alertTo('aller-retour@exemple.fr', 'Avant'));
  const mail = mailsTo(s, 'aller-retour@exemple.fr', n)[0];

  const page = await open(linkIn(mail.text, 'unsubscribe'));
  try {
    await page.getByRole('button', { name: 'Me désabonner' }).click();
    await page.getByText('L’adresse aller-retour@exemple.fr ne recevra plus nos alertes par courriel.').waitFor();
    assert.equal((await subscriber('aller-retour@exemple.fr'))!.status, 'unsubscribed');
    assert.equal(await alertTo('aller-retour@exemple.fr', 'Pendant'), false);

    await page.getByRole('link', { name: 'Gérer mes préférences' }).click();
    await page.getByText('Vous êtes désabonné(e)').waitFor();
    await page.getByRole('button', { name: 'Me réabonner' }).click();
    await page.getByText('vous recevez de nouveau nos alertes').waitFor();
  } finally {
    await page.close();
  }
  assert.equal((await subscriber('aller-retour@exemple.fr'))!.status, 'confirmed');
  assert.equal(await alertTo('aller-retour@exemple.fr', 'Après'), true);
});

test('delete me: record, address index and audience bits are gone; the link then leads nowhere', async () => {
  await subscribeAndConfirm(s, 'oubli@exemple.fr', ['politique']);
  const link = await prefsLink('oubli@exemple.fr');
  const d = s.app.domain;
  const id = Number(await d.redis.hget(d.keys.emailIndex, 'oubli@exemple.fr'));
  const [topic] = await d.topics.existingIds(['politique']);
  assert.equal(await d.redis.getbit(d.keys.audTopic('email', topic), id), 1);

  // Without the confirmation box the server refuses too (the browser already would).
  const refused = await s.api('POST', link, 'action=delete', form);
  assert.equal(refused.status, 400);
  assert.match(refused.text, /Cochez la case pour confirmer la suppression/);
  assert.ok(await subscriber('oubli@exemple.fr'));

  const page = await open(link);
  try {
    await page.getByLabel('Je comprends que c’est définitif').check();
    await page.getByRole('button', { name: 'Supprimer mes données' }).click();
    await page.getByRole('heading', { name: 'Données supprimées' }).waitFor();
  } finally {
    await page.close();
  }
  assert.equal(await d.redis.hget(d.keys.emailIndex, 'oubli@exemple.fr'), null);
  assert.equal(await d.redis.exists(d.keys.emailRecord(id)), 0);
  for (const key of [d.keys.audActive('email'), d.keys.audNoTopic('email'), d.keys.audTopic('email', topic)]) {
    assert.equal(await d.redis.getbit(key, id), 0, key);
  }
  const after = await s.api('GET', link, undefined, { accept: 'text/html' });
  assert.equal(after.status, 404);
  assert.match(after.text, /Abonnement introuvable/);
  assert.equal(await alertTo('oubli@exemple.fr', 'Après l’oubli', ['politique']), false);

  // Subscribing again starts from nothing: a new id, pending until confirmed.
  await s.api('POST', '/api/subscriptions/email', { email: 'oubli@exemple.fr' });
  const again = await subscriber('oubli@exemple.fr');
  assert.equal(again!.status, 'pending');
  assert.notEqual(again!.id, id);
});

test('forged or wrong-purpose tokens get a clear page and change nothing', async () => {
  const invalid = await s.api('GET', '/api/subscriptions/email/preferences?token=p.1.0.AAAAAAAAAAAAAAAAAAAAAA', undefined, {
    accept: 'text/html',
  });
  assert.equal(invalid.status, 400);
  assert.match(invalid.text, /Lien invalide/);
  const json = await s.api('POST', '/api/subscriptions/email/preferences?token=nope', 'action=delete&confirm=yes', {
    ...form,
    accept: 'application/json',
  });
  assert.equal(json.status, 400);
  assert.equal(String(json.json.error.code), 'invalid_token');
  const unknown = await s.api(
    'POST',
    `/api/subscriptions/email/preferences?token=${s.app.domain.tokens.sign('prefs', 1)}`,
    'action=dance',
    { ...form, accept: 'application/json' },
  );
  assert.equal(unknown.status, 400);
  const unsubToken = s.app.domain.tokens.sign('unsubscribe', 1);
  assert.equal((await s.api('GET', `/api/subscriptions/email/preferences?token=${unsubToken}`)).status, 400);
});
