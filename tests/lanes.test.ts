// Priority lanes (src/pipeline/lanes.ts), on the real stack. The push service answers each push
// after a delay and one process serves one normal batch at a time, so a big send leaves many
// batches queued: order of arrival at the push service then shows who went first. Nothing here
// is timed: every assertion is on the push service's own order of arrival.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, type Stack } from './support/stack';
import { subscribePush, pushesOf, items } from './support/newsroom';

const BATCH = 64;
const N = 16 * BATCH;
let s: Stack;
let everyone: number;

before(async () => {
  s = await startStack({
    BATCH_SIZE: String(BATCH),
    WORKER_CONCURRENCY: '1',
    PUSH_CONCURRENCY: '16',
    PRIORITY_MAX_AUDIENCE: '100',
  });
  // The many follow « international », three follow « sport »: an alert on sport reaches three.
  const many = Array.from({ length: N }, () => s.push.newSubscriber());
  for (let i = 0; i < N; i += 256) {
    await s.app.domain.pushSubscribers.upsertMany(
      many.slice(i, i + 256).map((b) => ({
        endpoint: b.endpoint,
        p256dh: Buffer.from(b.keys.p256dh, 'base64url'),
        auth: Buffer.from(b.keys.auth, 'base64url'),
        topics: ['international'],
      })),
    );
  }
  for (let i = 0; i < 3; i++) await subscribePush(s, { topics: ['sport'] });
  everyone = N + 3;
  // A slow push service: a batch of 64 takes four rounds of 100 ms, so the big sends below
  // keep batches waiting in the queue for several seconds.
  s.push.setDefaultBehaviour({ status: 201, delayMs: 100 });
});
after(async () => {
  await s.stop();
});

async function publish(body: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { body: 'Texte.', channels: ['push'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
}

/** The alert ids of the pushes the push service decrypted, in its order of arrival. */
function arrivals(): string[] {
  return s.push.messages.map((m) => (m.json() as { id: string }).id);
}

async function pushesAtLeast(id: string, n: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (pushesOf(s, id).length < n) {
    if (Date.now() > end) throw new Error(`alert ${id}: ${pushesOf(s, id).length} pushes of ${n} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a flash published during a big send arrives before the big alert’s remaining batches, and the big send then completes', async (t) => {
  const big = await publish({ title: 'Cessez-le-feu annoncé' });
  await pushesAtLeast(big, BATCH);
  const flash = await publish({ title: 'Explosion au centre-ville', flash: true, topics: ['sport'] });
  await pushesAtLeast(flash, 3, 30_000);

  const order = arrivals();
  const lastFlash = order.lastIndexOf(flash);
  const bigBefore = order.slice(0, lastFlash + 1).filter((id) => id === big).length;
  t.diagnostic(`the flash's 3 pushes arrived after ${bigBefore} of the big alert's ${everyone}`);
  // In queue order the flash would have come after all 17 batches; five or more still to go
  // shows it jumped the queue, with room for a slow machine.
  assert.ok(
    everyone - bigBefore >= 5 * BATCH,
    `the flash's last push came after ${bigBefore} of the big alert's ${everyone} pushes: not ahead of its queued batches`,
  );

  const done = await s.delivered(big, 120_000);
  assert.equal(done.delivery.push.sent, everyone);
  const got = pushesOf(s, big);
  assert.equal(got.length, everyone, 'the normal batches paused for the flash went on, nobody twice');
  assert.equal(new Set(got.map((p) => p.subscriberId)).size, everyone);
  assert.equal((await s.delivered(flash, 30_000)).delivery.push.sent, 3);
});

test('two big alerts published together both progress: each gets pushes before the other finishes', async (t) => {
  const a = await publish({ title: 'Premier envoi à tous', urgency: 'normal' });
  const b = await publish({ title: 'Second envoi à tous', urgency: 'normal' });
  await s.delivered(a, 120_000);
  await s.delivered(b, 120_000);

  const order = arrivals();
  const [firstA, lastA, firstB, lastB] = [order.indexOf(a), order.lastIndexOf(a), order.indexOf(b), order.lastIndexOf(b)];
  assert.ok(firstB < lastA, 'the second alert had pushes before the first finished');
  assert.ok(firstA < lastB, 'the first alert had pushes before the second finished');
  // Taking turns, not a late start: by the first alert's last push the second is well under way.
  const bByEndOfA = order.slice(0, lastA + 1).filter((id) => id === b).length;
  t.diagnostic(`by the first alert's last push, the second had ${bByEndOfA} of ${everyone}`);
  assert.ok(bByEndOfA >= everyone / 4, `only ${bByEndOfA} of the second alert's ${everyone} pushes by the end of the first`);
  for (const id of [a, b]) assert.equal(new Set(pushesOf(s, id).map((p) => p.subscriberId)).size, everyone);
});

test('GET /api/alerts/:id and the list show the lane chosen at publish: flashes and small urgency-high alerts go flash', async () => {
  s.push.setDefaultBehaviour(null);
  const cases: [Record<string, unknown>, 'flash' | 'normal'][] = [
    [{ title: 'Flash à tous', flash: true, urgency: 'normal' }, 'flash'],
    [{ title: 'Urgent, trois lecteurs', topics: ['sport'] }, 'flash'],
    [{ title: 'Urgent, tout le monde' }, 'normal'],
    [{ title: 'Pas urgent, trois lecteurs', topics: ['sport'], urgency: 'normal' }, 'normal'],
  ];
  const ids: string[] = [];
  for (const [body, lane] of cases) {
    const id = await publish(body);
    ids.push(id);
    const view = await s.alert(id);
    assert.equal(view.lane, lane, `${String(body.title)}: lane`);
    assert.equal(view.revisions[0].lane, lane);
  }
  // An update is a revision of its own: its lane is chosen again (a flash now, whatever before).
  const up = await s.api('POST', `/api/alerts/${ids[2]}/updates`, { title: 'Urgent, tout le monde : flash', flash: true }, editor());
  assert.equal(up.status, 202, up.text);
  const updated = await s.alert(ids[2]);
  assert.equal(updated.lane, 'flash');
  assert.deepEqual(
    updated.revisions.map((r) => r.lane),
    ['normal', 'flash'],
  );
  const list = await s.api('GET', '/api/alerts?limit=10', undefined, editor());
  assert.equal(list.status, 200);
  const listed = new Map(items(list.json.alerts).map((v) => [String(v.id), String(v.lane)]));
  assert.equal(listed.get(ids[0]), 'flash');
  assert.equal(listed.get(ids[3]), 'normal');
  for (const id of ids) await s.delivered(id, 120_000);
});
