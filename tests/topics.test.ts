// Topics belong to the newsroom (issue 11, hole 1): strangers can only choose among the active
// topics, so no request of theirs adds a topic or a bitmap; editors create and rename topics, a
// chief retires one and its bitmaps go; the number of topics is capped; topics already in Redis
// from before keep working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, CHIEF, type Stack } from './support/stack';
import { confirmEmail, pushesOf, subscribePush } from './support/newsroom';
import { isCluster } from '../src/store/redis';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s.stop();
});

/**
 * Every key of the instance except the per-address request counters (they move with every request)
 * and the digest tick's cursor (the once-a-minute scheduler creates it on its first tick, which may
 * fall in the middle of the test: it is written by the clock, not by any request).
 */
async function keyCount(): Promise<number> {
  const { redis, keys, config } = s.app.domain;
  const byClock = (k: string) => k.startsWith(keys.rateLimit) || k === keys.digestCursor;
  let n = 0;
  // On a cluster every master holds part of the keys.
  for (const node of isCluster(redis) ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${config.redis.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      n += batch.filter((k) => !byClock(k)).length;
    } while (cursor !== '0');
  }
  return n;
}

const topicList = async () =>
  (await s.api('GET', '/api/topics')).json.topics as unknown as { slug: string; label: string; declared: boolean }[];
/** How many of a topic's two bitmaps exist (one EXISTS per channel: on a cluster they are in different slots). */
const bitmaps = async (id: number) => {
  const { redis, keys } = s.app.domain;
  return (await redis.exists(keys.audTopic('push', id))) + (await redis.exists(keys.audTopic('email', id)));
};

test('200 anonymous subscribes naming novel topics get 400 unknown_topic naming the topic; no Redis key and no topic is added', async () => {
  await subscribePush(s, { topics: ['sport'] });
  const keysBefore = await keyCount();
  const listBefore = await topicList();
  const hashBefore = await s.app.domain.redis.hlen(s.app.domain.keys.topicIds);
  for (let i = 0; i < 200; i++) {
    const novel = Array.from({ length: 20 }, (_, j) => `attaque-${i}-${j}`);
    const b = s.push.newSubscriber();
    const r =
      i % 2 === 0
        ? await s.api('POST', '/api/subscriptions/push', {
            subscription: { endpoint: b.endpoint, keys: b.keys },
            topics: ['sport', ...novel.slice(1)],
          })
        : await s.api('POST', '/api/subscriptions/email', { email: `lecteur${i}@exemple.fr`, topics: novel });
    assert.equal(r.status, 400, r.text);
    assert.equal(String(r.json.error.code), 'unknown_topic');
    // The first unknown one is named, in the message and in the details.
    const first = i % 2 === 0 ? novel[1] : novel[0];
    assert.equal(String(r.json.error.details.topic), first);
    assert.match(String(r.json.error.message), new RegExp(first));
  }
  assert.equal(await keyCount(), keysBefore, 'no key added');
  assert.deepEqual(await topicList(), listBefore, 'the topic list is unchanged');
  assert.equal(await s.app.domain.redis.hlen(s.app.domain.keys.topicIds), hashBefore);
});

test('editors create a topic and rename its label; a chief retires it: its bitmaps are deleted and readers can no longer choose it', async () => {
  const created = await s.api('POST', '/api/topics', { slug: 'meteo', label: 'Météo' }, editor());
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.json, { slug: 'meteo', label: 'Météo', declared: false });
  assert.deepEqual(
    (await topicList()).find((t) => t.slug === 'meteo'),
    { slug: 'meteo', label: 'Météo', declared: false },
  );

  const reader = await subscribePush(s, { topics: ['meteo'] });
  await confirmEmail(s, 'meteo@exemple.fr', { topics: ['meteo'] });
  const [id] = await s.app.domain.topics.resolve(['meteo']);
  assert.equal(await bitmaps(id), 2, 'one bitmap per channel');
  const pub = await s.api('POST', '/api/alerts', { title: 'Vigilance orange orages', topics: ['meteo'], channels: ['push'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  await s.delivered(String(pub.json.id), 10_000);
  assert.equal(pushesOf(s, String(pub.json.id)).filter((p) => p.subscriberId === reader.id).length, 1);

  const renamed = await s.api('PATCH', '/api/topics/meteo', { label: 'Météo et climat' }, editor());
  assert.equal(renamed.status, 200, renamed.text);
  assert.equal((await topicList()).find((t) => t.slug === 'meteo')!.label, 'Météo et climat');

  // Retiring cannot be undone, so an editor may not; a chief may.
  const refused = await s.api('DELETE', '/api/topics/meteo', undefined, editor());
  assert.equal(refused.status, 403);
  assert.equal(await bitmaps(id), 2);
  const retired = await s.api('DELETE', '/api/topics/meteo', undefined, editor(CHIEF));
  assert.equal(retired.status, 204, retired.text);
  assert.equal(await bitmaps(id), 0, 'both bitmaps deleted');
  assert.equal(
    (await topicList()).find((t) => t.slug === 'meteo'),
    undefined,
  );

  const again = await s.api('POST', '/api/subscriptions/push', {
    subscription: { endpoint: s.push.newSubscriber().endpoint, keys: reader.keys },
    topics: ['meteo'],
  });
  assert.equal(again.status, 400);
  assert.equal(String(again.json.error.code), 'unknown_topic');
  const alert = await s.api('POST', '/api/alerts', { title: 'Encore de la pluie', topics: ['meteo'] }, editor());
  assert.equal(alert.status, 400, 'publishing to a retired topic is refused');
  assert.equal(String(alert.json.error.details.topic), 'meteo');

  // The old follower changes topics: the retired id in its record does not bring the bitmap back.
  const moved = await s.api('POST', '/api/subscriptions/push', {
    subscription: { endpoint: reader.endpoint, keys: reader.keys },
    topics: ['sport'],
  });
  assert.equal(moved.status, 201, moved.text);
  assert.equal(await bitmaps(id), 0);

  const audit = (await s.api('GET', '/api/audit?limit=10', undefined, editor())).json.entries as unknown as {
    action: string;
    editor: string;
    details?: { slug?: string };
  }[];
  const topicEntries = audit.filter((e) => e.details?.slug === 'meteo').map((e) => `${e.action} ${e.editor}`);
  assert.deepEqual(topicEntries, ['topic-retire chef', 'topic-rename redaction', 'topic-create redaction']);
});

test('MAX_TOPICS (200 by default) refuses topic 201 with 409 too_many_topics; retiring one makes room', async () => {
  const existing = (await topicList()).length;
  for (let i = existing; i < 200; i++) {
    const r = await s.api('POST', '/api/topics', { slug: `rubrique-${i}`, label: `Rubrique ${i}` }, editor());
    assert.equal(r.status, 201, r.text);
  }
  assert.equal((await topicList()).length, 200);
  const over = await s.api('POST', '/api/topics', { slug: 'la-deux-cent-unieme', label: 'De trop' }, editor());
  assert.equal(over.status, 409);
  assert.equal(String(over.json.error.code), 'too_many_topics');
  assert.match(String(over.json.error.message), /200 topics/);
  assert.equal((await topicList()).length, 200);

  assert.equal((await s.api('DELETE', `/api/topics/rubrique-${existing}`, undefined, editor(CHIEF))).status, 204);
  assert.equal((await s.api('POST', '/api/topics', { slug: 'la-deux-cent-unieme', label: 'Enfin' }, editor())).status, 201);
});

test('topics already in Redis before topics had labels become newsroom topics at start and keep working', async () => {
  const { redis, keys, topics } = s.app.domain;
  // As the old code stored a topic a reader invented: slug ⇄ id, no label.
  const legacy = await redis.hincrby(keys.topicIds, '#next', 1);
  await redis.hset(keys.topicIds, 'ancienne-rubrique', legacy, `#${legacy}`, 'ancienne-rubrique');
  const follower = await subscribePush(s, { topics: ['ancienne-rubrique'] });
  // A bitmap left under an id no topic has (what a retire racing a subscribe could leave).
  const orphan = await redis.hincrby(keys.topicIds, '#next', 1);
  await redis.setbit(keys.audTopic('push', orphan), 1000, 1);

  await topics.migrate(); // what the API runs at start
  assert.deepEqual(
    (await topicList()).find((t) => t.slug === 'ancienne-rubrique'),
    { slug: 'ancienne-rubrique', label: 'Ancienne rubrique', declared: false },
  );
  assert.equal(await bitmaps(orphan), 0, 'the orphan bitmap is gone');

  const pub = await s.api('POST', '/api/alerts', { title: 'Toujours suivie', topics: ['ancienne-rubrique'], channels: ['push'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  await s.delivered(String(pub.json.id), 10_000);
  assert.equal(pushesOf(s, String(pub.json.id)).filter((p) => p.subscriberId === follower.id).length, 1);
  assert.equal((await s.api('PATCH', '/api/topics/ancienne-rubrique', { label: 'Archives' }, editor())).status, 200);
});

test('PAGE_TOPICS entries are topics from the start, with their labels, and only the configuration changes them', async () => {
  const sport = (await topicList()).find((t) => t.slug === 'sport');
  assert.deepEqual(sport, { slug: 'sport', label: 'Sport', declared: true });
  const rename = await s.api('PATCH', '/api/topics/sport', { label: 'Sports' }, editor());
  assert.equal(rename.status, 409);
  assert.equal(String(rename.json.error.code), 'declared_topic');
});
