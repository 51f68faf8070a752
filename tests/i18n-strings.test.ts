// The strings files: one per language of LANGUAGES, all with the same keys, and the English one
// set in English typography (no space before : ; ! ?, curly quotes, no « guillemets »).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LANGUAGES } from '../src/model';
import { loadStrings, Renderer, TEMPLATES_DIR } from '../src/email/render';
import { loadConfig } from '../src/config';

test('templates/i18n holds exactly one strings file per language of LANGUAGES', () => {
  const files = readdirSync(join(TEMPLATES_DIR, 'i18n'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
  assert.deepEqual(files, [...LANGUAGES].sort());
  for (const lang of LANGUAGES) assert.equal(loadStrings(lang).lang, lang, `${lang}.json says it is ${lang}`);
});

test('every strings file has the same keys as fr.json, in the same order', () => {
  const keys = Object.keys(loadStrings('fr'));
  for (const lang of LANGUAGES) assert.deepEqual(Object.keys(loadStrings(lang)), keys, `${lang}.json`);
});

test('en.json has no space before : ; ! ?, no « », no straight double quotes, no straight apostrophes', () => {
  for (const [key, text] of Object.entries(loadStrings('en'))) {
    assert.doesNotMatch(text, /[\s\u00a0\u202f][:;!?]/, `${key}: a space before punctuation`);
    assert.doesNotMatch(text, /[«»"]/, `${key}: « » or a straight double quote`);
    assert.doesNotMatch(text, /'/, `${key}: a straight apostrophe`);
  }
});

test('English dates read as English; French ones keep their no-break spaces', () => {
  const at = new Date('2026-09-01T12:05:00Z');
  // ICU versions differ on the comma after the weekday.
  assert.match(Renderer.forLanguages('fr').in('en').formatDate(at), /^Tuesday,? 1 September 2026 at 14:05 \(Paris time\)$/);
  assert.equal(Renderer.forLanguages('en').in('fr').formatDate(at), 'mardi 1er septembre 2026 à 14\u00a0h\u00a005');
  assert.equal(Renderer.forLanguages('en').lang, 'en');
  assert.equal(Renderer.forLanguages('fr').in(undefined).lang, 'fr', 'no language chosen: the default');
});

test('EMAIL_LANGUAGE defaults to fr, takes en, and refuses a language without a strings file, naming the variable', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379' };
  assert.equal(loadConfig(base).email.language, 'fr');
  assert.equal(loadConfig({ ...base, EMAIL_LANGUAGE: 'en' }).email.language, 'en');
  assert.throws(() => loadConfig({ ...base, EMAIL_LANGUAGE: 'de' }), /EMAIL_LANGUAGE/);
  assert.throws(() => loadConfig({ ...base, EMAIL_LANGUAGE: 'fr-CA' }), /EMAIL_LANGUAGE/);
});
