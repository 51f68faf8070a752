// What a subscriber's browser receives: a body cut to fit 4096 encrypted bytes without breaking
// a character, the story's Topic header and notification tag, TTL per urgency, and a 422 for
// an alert no push could carry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DELIVERY_TOKEN_MAX } from '../src/tokens';
import { startStack, editor, type Stack } from './support/stack';
import type { TestSubscriber } from './support/push-service';
import { truncateForJson } from '../src/push/payload';
import { MAX_PLAINTEXT_BYTES } from '../src/push/encrypt';
import { loadConfig } from '../src/config';
import { ensureTopics } from './support/topics';

const graphemes = (t: string) => [...new Intl.Segmenter('fr', { granularity: 'grapheme' }).segment(t)].map((g) => g.segment);

/** Asserts `cut` is `original` cut after a whole grapheme, plus "…". */
function assertCleanCut(original: string, cut: string): void {
  assert.ok(cut.endsWith('…'), 'ends with an ellipsis');
  const kept = cut.slice(0, -1);
  assert.ok(original.startsWith(kept), 'a prefix of the original');
  assert.equal(Buffer.from(kept, 'utf8').toString('utf8'), kept, 'valid UTF-8 (no lone surrogate)');
  // Cut between graphemes: the prefix's graphemes are the original's first graphemes.
  const g = graphemes(kept);
  assert.deepEqual(g, graphemes(original).slice(0, g.length));
}

// Decomposed accents (e + U+0301), guillemets with narrow no-break spaces, a ZWJ family, a flag,
// a skin-tone modifier, CJK and characters JSON escapes.
const HARD =
  'Le ministre a déclaré\u202f: «\u202fLe cessez-le-feu tient\u202f» — Ville-Marie, e\u0301te\u0301 👨‍👩‍👧‍👦 🇫🇷 👍🏽 東京 "quote" \\ fin. ';

test('truncation never splits a UTF-8 sequence, an accent, a guillemet or an emoji', () => {
  const text = HARD.repeat(4);
  for (let budget = 3; budget <= 400; budget++) {
    const cut = truncateForJson(text, budget);
    assertCleanCut(text, cut);
    assert.ok(Buffer.byteLength(JSON.stringify(cut), 'utf8') - 2 <= budget, `fits in ${budget} bytes`);
  }
});

let s: Stack;
before(async () => {
  s = await startStack({ PUSH_TTL_SECONDS: 'high:600,low:7200' });
  await ensureTopics(s, ['long', 'short', 'monde', 'ttl']);
});
after(async () => {
  await s.stop();
});

async function subscribe(topic: string): Promise<TestSubscriber> {
  const b = s.push.newSubscriber();
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: [topic] });
  assert.equal(r.status, 201);
  return b;
}
async function publish(fields: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { body: '', channels: ['push'], ...fields }, editor());
  assert.equal(r.status, 202, r.text);
  await s.delivered(String(r.json.id), 10_000);
  return String(r.json.id);
}
const received = (sub: TestSubscriber) => s.push.messages.filter((m) => m.subscriberId === sub.id);

test('a long multi-byte body is cut to fit 4096 encrypted bytes and still reads right', async () => {
  const sub = await subscribe('long');
  const body = (HARD + 'Les combats ont cessé ce matin, selon les deux camps. ').repeat(40).slice(0, 2000);
  assert.ok(Buffer.byteLength(body) > MAX_PLAINTEXT_BYTES / 2);
  const title = '« Cessez-le-feu » au Haut-Karabakh 🕊️';
  const url = 'https://www.exemple.fr/monde/' + 'karabakh-'.repeat(150);
  await publish({ title, body, url, topics: ['long'] });
  const [msg] = received(sub);
  assert.ok(msg, 'delivered');
  assert.ok(Buffer.byteLength(msg.payload, 'utf8') <= MAX_PLAINTEXT_BYTES);
  // All the room but what the longest receipt may take beyond this one.
  const receipt = (msg.json() as { receipt: string }).receipt;
  assert.ok(
    Buffer.byteLength(msg.payload, 'utf8') > MAX_PLAINTEXT_BYTES - 16 - (DELIVERY_TOKEN_MAX - receipt.length),
    'uses the room there is',
  );
  const p = msg.json() as { title: string; body: string; url: string };
  assert.equal(p.title, title);
  assert.equal(p.url, url);
  assertCleanCut(body, p.body);
});

test('a body that fits is sent whole', async () => {
  const sub = await subscribe('short');
  await publish({ title: 'Essai', body: HARD, topics: ['short'] });
  assert.equal((received(sub)[0].json() as { body: string }).body, HARD.trim());
});

test('pushes of one story share a Topic header and a notification tag; other alerts do not', async () => {
  const sub = await subscribe('monde');
  const a = await publish({ title: 'Offensive au Haut-Karabakh', story: 'haut-karabakh', topics: ['monde'] });
  const b = await publish({ title: 'Cessez-le-feu au Haut-Karabakh', story: 'haut-karabakh', topics: ['monde'] });
  const c = await publish({ title: 'Séisme au Japon', story: 'seisme-japon', topics: ['monde'] });
  const d = await publish({ title: 'Sans histoire', topics: ['monde'] });
  const byId = new Map(received(sub).map((m) => [(m.json() as { id: string }).id, m]));
  const [ma, mb, mc, md] = [a, b, c, d].map((id) => byId.get(id)!);
  assert.match(ma.headers.topic ?? '', /^[A-Za-z0-9_-]{1,32}$/);
  assert.equal(mb.headers.topic, ma.headers.topic);
  assert.notEqual(mc.headers.topic, ma.headers.topic);
  assert.notEqual(md.headers.topic, ma.headers.topic);
  const pa = ma.json() as Record<string, unknown>;
  const pb = mb.json() as Record<string, unknown>;
  assert.equal(pa.story, 'haut-karabakh');
  assert.equal(pa.tag, pb.tag, 'same tag: the newer notification replaces the older');
  assert.notEqual((mc.json() as Record<string, unknown>).tag, pa.tag);
  assert.deepEqual(Object.keys(pa).sort(), [
    'actions',
    'body',
    'id',
    'key',
    'kind',
    'lang',
    'receipt',
    'rev',
    'sentAt',
    'story',
    'tag',
    'title',
    'topics',
    'urgency',
    'url',
  ]);
  const bad = await s.api('POST', '/api/alerts', { title: 'x', story: 'Pas un slug !' }, editor());
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error.message), /story/);
});

test('TTL follows the urgency, as configured', async () => {
  const sub = await subscribe('ttl');
  for (const urgency of ['high', 'normal', 'low']) await publish({ title: `Urgence ${urgency}`, urgency, topics: ['ttl'] });
  const ttl = Object.fromEntries(received(sub).map((m) => [String(m.headers.urgency), m.headers.ttl]));
  assert.deepEqual(ttl, { high: 600, normal: 8 * 3600, low: 7200 });
  assert.throws(() => loadConfig({ PUSH_TTL_SECONDS: 'urgent:10' }), /^Error: configuration: PUSH_TTL_SECONDS entry "urgent:10"/);
  assert.equal(loadConfig({ PUSH_TTL_SECONDS: '60' }).push.ttlSeconds['very-low'], 60);
});

test('an alert whose title, URL and topics leave no room for a push is refused with 422, nothing queued', async () => {
  const before = (await s.api('GET', '/api/alerts', undefined, editor())).json.alerts.length;
  const pushes = s.push.requests;
  const r = await s.api(
    'POST',
    '/api/alerts',
    {
      title: 'Ville-Marie '.repeat(16).trim(),
      url: 'https://www.exemple.fr/actualité/' + 'é'.repeat(1950),
      topics: Array.from({ length: 20 }, (_, i) => `rubrique-${i}-${'x'.repeat(28)}`),
      channels: ['push', 'email'],
    },
    editor(),
  );
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.error.code, 'push_payload_too_large');
  assert.match(String(r.json.error.message), /3993/);
  assert.equal((await s.api('GET', '/api/alerts', undefined, editor())).json.alerts.length, before);
  assert.equal(s.push.requests, pushes);
});
