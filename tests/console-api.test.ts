// The console's server side, through HTTP as a browser would use it: sign-in sessions and CSRF,
// security headers, draft previews, audience counts, the live event stream, bull-board and the
// Prometheus metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, EDITOR, type Stack, pushCounts } from './support/stack';
import { seedEmail, seedPush, signIn } from './support/console';
import { buildPushPayload, KEY_HINT_LENGTH } from '../src/push/payload';
import { DELIVERY_TOKEN_MAX } from '../src/tokens';
import type { AlertView } from '../src/store/alerts';

let s: Stack;
before(async () => {
  s = await startStack();
  await seedPush(s, 3, ['sport']);
  await seedPush(s, 2, ['politique']);
  await seedPush(s, 1);
  await seedEmail(s, 'supportrice@exemple.fr', ['sport']);
});
after(async () => {
  await s.stop();
});

const alertCount = async () => ((await s.api('GET', '/api/alerts', undefined, editor())).json.alerts as unknown as unknown[]).length;

test('sign-in sets an httpOnly SameSite=Strict signed cookie; a wrong token gets a clear 401', async () => {
  const bad = await s.api('POST', '/api/session', { token: 'pas-le-bon-jeton-du-tout' });
  assert.equal(bad.status, 401);
  assert.equal(String(bad.json.error.code), 'invalid_token');
  assert.equal(bad.headers.get('set-cookie'), null);
  const missing = await s.api('POST', '/api/session', {});
  assert.equal(missing.status, 400);
  assert.match(String(missing.json.error.message), /token/);

  const session = await signIn(s);
  assert.match(session.setCookie, /HttpOnly/i);
  assert.match(session.setCookie, /SameSite=Strict/i);
  assert.match(session.setCookie, /Path=\//);
  // Signed (cookie-parser's "s:" prefix, URL-encoded), and the CSRF token is not in the cookie.
  assert.match(session.cookie, /^dp_session=s%3A[\w-]{32}\.[\w%+/=-]+$/);
  assert.ok(!session.setCookie.includes(session.csrf));

  const me = await session.call('GET', '/api/session');
  assert.equal(me.status, 200);
  assert.deepEqual(me.json.editor, { name: 'redaction', role: 'editor' });
  assert.equal(String(me.json.csrf), session.csrf);
});

test('a state-changing request with the cookie but without the CSRF token is refused and changes nothing', async () => {
  const session = await signIn(s);
  const n = await alertCount();
  const pushes = s.push.messages.length;
  for (const headers of [{}, { 'x-csrf-token': 'faux' }] as Record<string, string>[]) {
    const r = await s.api('POST', '/api/alerts', { title: 'Ne doit pas partir' }, { cookie: session.cookie, ...headers });
    assert.equal(r.status, 403, r.text);
    assert.equal(String(r.json.error.code), 'csrf_failed');
  }
  assert.equal(await alertCount(), n);

  const ok = await session.call('POST', '/api/alerts', { title: 'Essai de la console', channels: ['push'], topics: ['sport'] });
  assert.equal(ok.status, 202, ok.text);
  assert.equal(String(ok.json.createdBy), 'redaction');
  await s.delivered(String(ok.json.id), 10_000);
  assert.equal(s.push.messages.length - pushes, 4); // 3 on "sport" + 1 without topics
});

test('a tampered or signed-out cookie is not a session; Bearer tokens keep working', async () => {
  const session = await signIn(s);
  const forged = session.cookie.replace(/s%3A(.)/, (_m, c: string) => `s%3A${c === 'A' ? 'B' : 'A'}`);
  assert.equal((await s.api('GET', '/api/alerts', undefined, { cookie: forged })).status, 401);
  assert.equal((await s.api('GET', '/api/alerts', undefined, { cookie: 'dp_session=unsigned-value' })).status, 401);

  const out = await session.call('DELETE', '/api/session');
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /^dp_session=.*Expires=Thu, 01 Jan 1970/);
  assert.equal((await session.call('GET', '/api/alerts')).status, 401);
  assert.equal((await s.api('GET', '/api/alerts', undefined, editor())).status, 200);
  // A Bearer client needs no CSRF token: it is not a browser carrying ambient credentials.
  const r = await s.api('POST', '/api/preview', { title: 'x' }, editor());
  assert.equal(r.status, 200);
});

test('the console is served with helmet headers and a CSP without inline scripts or styles', async () => {
  const page = await s.api('GET', '/console');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.text, /<html lang="fr">/);
  assert.doesNotMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script element');
  assert.doesNotMatch(page.text, /\sstyle=|<style/, 'no inline style');
  const csp = page.headers.get('content-security-policy') ?? '';
  for (const d of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ]) {
    assert.ok(csp.includes(d), `${d} in ${csp}`);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('x-frame-options'), 'SAMEORIGIN');
  assert.ok(page.headers.get('strict-transport-security'));
  const js = await s.api('GET', '/console/js/main.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await s.api('GET', '/console/js/nope.js')).status, 404);
});

test('draft previews: the push payload size from the real builder, the email from the real templates', async () => {
  const session = await signIn(s);
  const draft = {
    title: 'Séisme : « forte secousse » ressentie à Nice',
    body: 'Pas de victime signalée à cette heure.',
    url: 'https://www.exemple.fr/nice',
    topics: ['sport'],
    channels: ['push', 'email'] as ('push' | 'email')[],
  };
  const p = await session.call('POST', '/api/preview', draft);
  assert.equal(p.status, 200, p.text);
  assert.equal(Number(p.json.push.limit), 3993);
  assert.equal(String(p.json.push.payload.title), draft.title);
  const sent = buildPushPayload(
    { ...draft, id: String(p.json.push.payload.id), rev: 1, kind: 'original', flash: false, urgency: 'high', createdAt: '', createdBy: '' },
    new Date(String(p.json.push.payload.sentAt)),
  );
  // The larger of the two shapes: the Declarative Web Push one Apple subscriptions get repeats the URL.
  const declarative = buildPushPayload(
    { ...draft, id: String(p.json.push.payload.id), rev: 1, kind: 'original', flash: false, urgency: 'high', createdAt: '', createdBy: '' },
    new Date(String(p.json.push.payload.sentAt)),
    // Every real push carries the start of our current key (key rotation): the size counts it.
    { declarative: true, site: 'https://alertes.example.fr', currentKey: 'k'.repeat(KEY_HINT_LENGTH) },
  );
  assert.ok(declarative.json.length > sent.json.length);
  // The size counts the room kept for the longest receipt (the JSON here has an empty one).
  assert.equal(Number(p.json.push.bytes), declarative.json.length + DELIVERY_TOKEN_MAX);
  assert.equal(p.json.push.truncated, false);
  assert.equal(p.json.push.titleFits, true);

  // Over the limit: the size as written, and the payload as it will go out (body cut).
  const long = await session.call('POST', '/api/preview', { ...draft, body: 'é'.repeat(2000) });
  assert.ok(Number(long.json.push.bytes) > 3993);
  assert.equal(long.json.push.truncated, true);
  assert.ok(String(long.json.push.payload.body).endsWith('…'));
  const huge = await session.call('POST', '/api/preview', {
    ...draft,
    title: '\u0001'.repeat(200),
    story: 's'.repeat(40),
    topics: Array.from({ length: 20 }, (_, i) => `${'r'.repeat(38)}${i}`),
    url: `https://www.exemple.fr/${'a'.repeat(2000)}`,
  });
  assert.equal(huge.status, 200, huge.text);
  assert.equal(huge.json.push.titleFits, false);
  assert.equal(huge.json.push.payload, null);

  const frame = String(p.json.email.frame);
  const html = await session.call('GET', frame);
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type') ?? '', /text\/html/);
  // French typography from the real renderer: no-break spaces before the colon and inside « ».
  assert.match(html.text, /<h1[^>]*>Séisme[\u00a0\u202f]: «\u202fforte secousse\u202f» ressentie à Nice<\/h1>/);
  assert.match(html.text, /Pas de victime signalée/);
  assert.match(html.text, /token=apercu/, 'placeholder links, never a real unsubscribe token');
  const csp = html.headers.get('content-security-policy') ?? '';
  assert.match(csp, /sandbox/);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'self'/);

  // While typing, a missing title is fine; a bad URL is named.
  assert.equal((await session.call('POST', '/api/preview', { title: '' })).status, 200);
  const bad = await session.call('POST', '/api/preview', { title: 'x', url: 'ftp://exemple.fr' });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error.message), /^url/);
  assert.equal((await s.api('POST', '/api/preview', { title: 'x' })).status, 401);
  assert.equal((await session.call('GET', '/api/preview/AAAAAAAAAAAAAAAAAAAAAA/email')).status, 404);
});

test('audience: how many subscribers each channel would reach, as the fan-out counts them', async () => {
  const session = await signIn(s);
  const all = await session.call('GET', '/api/audience');
  assert.deepEqual(all.json, { topics: [], push: 6, email: 1 });
  const sport = await session.call('GET', '/api/audience?topics=sport');
  assert.deepEqual(sport.json, { topics: ['sport'], push: 4, email: 1 });
  const both = await session.call('GET', '/api/audience?topics=sport,politique');
  assert.equal(Number(both.json.push), 6);
  const nobody = await session.call('GET', '/api/audience?topics=meteo');
  assert.deepEqual(nobody.json, { topics: ['meteo'], push: 1, email: 0 });
  const bad = await session.call('GET', '/api/audience?topics=Pas%20un%20slug');
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error.message), /^topics/);
  // The newsroom's topics (PAGE_TOPICS' defaults here), with their labels, for anyone.
  const topics = await s.api('GET', '/api/topics');
  const listed = topics.json.topics as unknown as { slug: string; label: string }[];
  assert.deepEqual(
    listed.find((t) => t.slug === 'sport'),
    { slug: 'sport', label: 'Sport', declared: true },
  );
  assert.ok(listed.some((t) => t.slug === 'politique'));
});

interface StreamEvent {
  event: string;
  data: string;
}

/** Reads Server-Sent Events from a fetch body until `done` returns true. */
async function readEvents(body: ReadableStream<Uint8Array>, done: (e: StreamEvent) => boolean, timeoutMs: number): Promise<StreamEvent[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: StreamEvent[] = [];
  let buf = '';
  const timer = setTimeout(() => {
    void reader.cancel();
  }, timeoutMs);
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) throw new Error(`stream ended after ${events.length} events`);
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) {
          const e = { event, data };
          events.push(e);
          if (done(e)) return events;
        }
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
}

test("GET /api/events streams an alert's figures as they move, up to the final ones", async () => {
  const session = await signIn(s);
  const res = await fetch(`${s.base}/api/events`, { headers: { cookie: session.cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const slow = (await seedPush(s, 1, ['sport']))[0];
  // One subscriber answers 500 once: its batch is retried, so the figures pass through a middle state.
  s.push.setBehaviour(slow.id, { sequence: [{ status: 500 }, null] });
  const pub = await session.call('POST', '/api/alerts', { title: 'Suivi en direct', topics: ['sport'], channels: ['push', 'email'] });
  assert.equal(pub.status, 202);
  const id = String(pub.json.id);
  const events = await readEvents(
    res.body!,
    (e) => e.event === 'alert' && (JSON.parse(e.data) as AlertView).id === id && (JSON.parse(e.data) as AlertView).status === 'delivered',
    20_000,
  );
  const mine = events.map((e) => JSON.parse(e.data) as AlertView).filter((v) => v.id === id);
  const last = mine.at(-1)!;
  assert.deepEqual(pushCounts(last.delivery.push), { targeted: 5, sent: 5, failed: 0, expired: 0, clicked: 0 });
  assert.deepEqual(last.delivery.email, { targeted: 1, sent: 1, failed: 0, bounced: 0, complained: 0 });
  assert.ok(
    mine.some((v) => v.status !== 'delivered'),
    'intermediate figures were streamed before the final ones',
  );
  s.push.setBehaviour(slow.id, null);

  assert.equal((await fetch(`${s.base}/api/events`)).status, 401);
});

test('bull-board sits behind the editor sign-in; its writes need our own origin', async () => {
  const anon = await s.api('GET', '/admin/queues', undefined, { accept: 'text/html' });
  assert.equal(anon.status, 303);
  assert.equal(anon.headers.get('location'), '/console?suite=%2Fadmin%2Fqueues');
  assert.equal((await s.api('GET', '/admin/queues/api/queues')).status, 401);

  const session = await signIn(s);
  const page = await session.call('GET', '/admin/queues', undefined, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(page.text, /dépêche/);
  assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /script-src[^;]*unsafe-inline/);
  const queues = await session.call('GET', '/admin/queues/api/queues');
  assert.equal(queues.status, 200, queues.text);
  const names = (queues.json.queues as unknown as { name: string }[]).map((q) => q.name).sort();
  assert.deepEqual(names, ['digest', 'email', 'email-flash', 'fanout', 'mail', 'push', 'push-flash', 'webhook']);
  // A write from another site: no CSRF token, foreign Origin.
  const cross = await s.api('PUT', '/admin/queues/api/queues/push/pause', undefined, {
    cookie: session.cookie,
    origin: 'https://evil.example',
  });
  assert.equal(cross.status, 403);
  const bearer = await s.api('GET', '/admin/queues/api/queues', undefined, { authorization: `Bearer ${EDITOR}` });
  assert.equal(bearer.status, 200);
});

test('/metrics: alerts published, deliveries by outcome, publish-to-delivery time, queue depths', async () => {
  const pub = await s.api('POST', '/api/alerts', { title: 'Compteurs', channels: ['push'], urgency: 'normal' }, editor());
  await s.delivered(String(pub.json.id), 10_000);
  const m = await s.api('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
  const value = (re: RegExp) => Number(re.exec(m.text)?.[1] ?? NaN);
  assert.ok(value(/^depeche_alerts_published_total\{urgency="normal"\} (\d+)$/m) >= 1);
  assert.ok(value(/^depeche_deliveries_total\{channel="push",outcome="sent"\} (\d+)$/m) >= 6);
  assert.ok(value(/^depeche_publish_to_delivery_seconds_count\{channel="push"\} (\d+)$/m) >= 6);
  assert.ok(value(/^depeche_send_retries_total\{channel="push",reason="http 500"\} (\d+)$/m) >= 1);
  assert.equal(value(/^depeche_queue_jobs\{queue="push",state="waiting"\} (\d+)$/m), 0);
  assert.match(m.text, /^depeche_queue_jobs\{queue="fanout",state="active"\} \d+$/m);
});

test('a worker-only process serves its own /metrics on METRICS_PORT', async () => {
  const w = await startStack({ METRICS_PORT: '0' }, { api: false, worker: true });
  try {
    assert.ok(w.app.metricsPort);
    const r = await until(async () => {
      const res = await fetch(`http://127.0.0.1:${w.app.metricsPort}/metrics`);
      return res.status === 200 ? res.text() : null;
    });
    assert.match(r, /^# TYPE depeche_deliveries_total counter$/m);
    assert.equal((await fetch(`http://127.0.0.1:${w.app.metricsPort}/other`)).status, 404);
  } finally {
    await w.stop();
  }
});
