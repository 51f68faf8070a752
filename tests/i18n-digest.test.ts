// The daily digest in the reader's language: an English digest reader gets an English digest,
// with each story's English text where it has one and the default text where it has none; a
// French reader of the same minute gets the French digest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack } from './support/stack';
import { linkIn, mailsTo } from './support/email';
import { clockText, localDay } from '../src/digest-clock';

let s: Stack;
before(async () => {
  s = await startStack({ DIGEST_TIMES: '*/1' });
});
after(async () => {
  await s.stop();
});

async function subscribeDigest(address: string, digest: string, lang: string): Promise<void> {
  const n = s.smtp.messages.length;
  const r = await s.api('POST', '/api/subscriptions/email', { email: address, timeZone: 'UTC', digest, lang });
  assert.equal(r.status, 202, r.text);
  await s.smtp.waitFor(n + 1, 5000);
  const ok = await s.api('POST', linkIn(mailsTo(s, address, n).at(-1)!.text, 'confirm'), undefined, { accept: 'application/json' });
  assert.equal(ok.status, 200);
}

async function publish(body: object): Promise<void> {
  const r = await s.api('POST', '/api/alerts', body, editor());
  assert.equal(r.status, 202, r.text);
  await s.delivered(String(r.json.id));
}

test('an English digest reader gets the digest in English, each story in English where it has the text; a French one in French', async () => {
  const dueAt = Math.ceil((Date.now() + 15_000) / 60_000) * 60_000;
  const time = clockText(localDay('UTC', dueAt).minute);
  await subscribeDigest('summary@example.com', time, 'en');
  await subscribeDigest('resume@exemple.fr', time, 'fr');
  const before = s.smtp.messages.length;
  await publish({
    title: 'Séisme au large du Japon',
    body: 'Premier bilan.',
    texts: { en: { title: 'Earthquake off Japan', body: 'First toll.' } },
  });
  await publish({ title: 'Le budget adopté : 310 voix', body: 'Vote solennel.' });

  const wait = Math.max(0, dueAt - Date.now()) + 15_000;
  const en = await until(async () => mailsTo(s, 'summary@example.com', before)[0], wait, 250);
  const fr = await until(async () => mailsTo(s, 'resume@exemple.fr', before)[0], 15_000, 250);
  assert.equal(en.subject, 'The dépêche summary: 2 alert(s) in 24 hours');
  assert.match(en.text, /Earthquake off Japan/);
  assert.match(en.text, /First toll\./);
  assert.match(en.text, /Le budget adopté\u00a0: 310 voix/, 'no English text: the default one, in its own typography');
  assert.doesNotMatch(en.text, /Séisme/);
  assert.match(en.html, /<html lang="en"/);
  assert.equal(fr.subject, 'Le résumé de dépêche\u00a0: 2 alerte(s) en 24 heures');
  assert.match(fr.text, /Séisme au large du Japon/);
  assert.doesNotMatch(fr.text, /Earthquake/);
});
