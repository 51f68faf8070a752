// Issue 11, hole 9: confirmation links do not replay, and posting a known address changes nothing.
// A confirmation link carries the record's status version; any change of status (confirmed,
// unsubscribed, bounced) voids every link mailed before it. Re-posting an address never touches
// its topics or status; it mails a fresh link only to a pending or unsubscribed address.
// CONFIRM_RESEND_INTERVAL is 1 s so a test can wait it out and show that no mail is *asked for*
// (rather than merely swallowed by the resend limit).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type ApiAnswer, type Stack } from './support/stack';
import { linkIn, mailsTo } from './support/email';

const RESEND_MS = 1000;
let s: Stack;
before(async () => {
  s = await startStack({ CONFIRM_RESEND_INTERVAL: '1s' });
});
after(async () => {
  await s.stop();
});

const json = { accept: 'application/json' };
/** When each address was last posted: the next post waits out the resend interval. */
const lastPost = new Map<string, number>();

async function post(email: string, topics: string[] = []): Promise<ApiAnswer> {
  const wait = (lastPost.get(email) ?? 0) + RESEND_MS + 100 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const r = await s.api('POST', '/api/subscriptions/email', { email, topics });
  lastPost.set(email, Date.now());
  return r;
}

const record = async (email: string) => {
  const id = await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, email);
  const sub = id ? await s.app.domain.emailSubscribers.get(Number(id)) : null;
  assert.ok(sub, `no record for ${email}`);
  return sub;
};

/** Confirmation-mail jobs ever queued for this subscriber (completed ones are kept for an hour). */
async function mailJobs(id: number): Promise<number> {
  const jobs = await s.app.queues.mail.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized']);
  return jobs.filter((j) => j?.data.subscriberId === id).length;
}

/** Posts the address and returns the confirmation link of the mail that follows. */
async function confirmationLink(email: string, topics: string[] = []): Promise<string> {
  const n = mailsTo(s, email).length;
  assert.equal((await post(email, topics)).status, 202);
  await until(async () => mailsTo(s, email).length === n + 1);
  return linkIn(mailsTo(s, email).at(-1)!.text, 'confirm');
}

/** Publishes an alert to every email reader; whether this address got it. */
async function gets(email: string, title: string): Promise<boolean> {
  const n = s.smtp.messages.length;
  const r = await s.api('POST', '/api/alerts', { title, body: '', channels: ['email'] }, editor());
  assert.equal(r.status, 202, r.text);
  await s.delivered(String(r.json.id));
  return mailsTo(s, email, n).length > 0;
}

async function unsubscribe(email: string): Promise<void> {
  const n = s.smtp.messages.length;
  assert.ok(await gets(email, `Pour le lien de ${email}`));
  const link = linkIn(mailsTo(s, email, n)[0].text, 'unsubscribe');
  assert.equal((await s.api('POST', link, undefined, json)).status, 200);
  assert.equal((await record(email)).status, 'unsubscribed');
}

/** The old link is refused as an expired one is, on the page and in JSON, and changes nothing. */
async function refused(link: string, email: string): Promise<void> {
  const before = await record(email);
  const page = await s.api('GET', link, undefined, { accept: 'text/html' });
  assert.equal(page.status, 410);
  assert.match(page.text, /Lien expiré/);
  assert.match(page.text, /n’est plus valable/);
  const click = await s.api('POST', link, undefined, json);
  assert.equal(click.status, 410);
  assert.equal(String(click.json.error.code), 'token_expired');
  const html = await s.api('POST', link, '', { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' });
  assert.equal(html.status, 410);
  assert.match(html.text, /Inscrivez-vous de nouveau/);
  assert.deepEqual(await record(email), before, 'nothing changed');
}

test('a confirmation link confirms once; after an unsubscribe it re-subscribes nobody and brings no alert', async () => {
  const email = 'parti@exemple.fr';
  const link = await confirmationLink(email, ['sport']);
  // A double click (two POSTs at once) confirms once: one change of status, both answered alike.
  const clicks = await Promise.all([1, 2].map(() => s.api('POST', link, undefined, json)));
  for (const c of clicks) assert.deepEqual([c.status, c.json], [200, { status: 'confirmed' }]);
  assert.equal((await record(email)).statusVersion, 1);
  // Clicking again later while confirmed is harmless too.
  assert.deepEqual((await s.api('POST', link, undefined, json)).json, { status: 'confirmed' });
  assert.equal((await record(email)).statusVersion, 1);

  await unsubscribe(email);
  await refused(link, email);
  assert.equal((await record(email)).status, 'unsubscribed');
  assert.equal(await gets(email, 'Après le départ'), false, 'no alert reaches the address');
});

test('re-posting a confirmed address with other topics changes nothing and mails nothing', async () => {
  const email = 'fidele@exemple.fr';
  const link = await confirmationLink(email, ['sport']);
  assert.equal((await s.api('POST', link, undefined, json)).status, 200);
  const before = await record(email);
  const jobs = await mailJobs(before.id);

  assert.equal((await post(email, ['politique', 'culture'])).status, 202);
  assert.deepEqual(await record(email), before, 'topics, status and dates unchanged');
  assert.equal(await mailJobs(before.id), jobs, 'no confirmation mail asked for');
  assert.deepEqual((await record(email)).topics, ['sport']);
  // Mail asked for by now has arrived: a later confirmation mail to someone else is the marker.
  await confirmationLink('repere-1@exemple.fr');
  assert.equal(mailsTo(s, email).length, 1, 'only the first confirmation mail');
});

test('re-posting an unsubscribed address mails a fresh link that re-confirms; the old one still does nothing', async () => {
  const email = 'revenant@exemple.fr';
  const old = await confirmationLink(email, ['sport']);
  assert.equal((await s.api('POST', old, undefined, json)).status, 200);
  await unsubscribe(email);
  const left = await record(email);

  // Asking to come back (with other topics) changes nothing yet: only the fresh link's click will.
  const fresh = await confirmationLink(email, ['politique']);
  assert.notEqual(fresh, old);
  assert.deepEqual(await record(email), left);
  await refused(old, email);

  const page = await s.api('GET', fresh, undefined, { accept: 'text/html' });
  assert.equal(page.status, 200, 'the fresh link shows its button');
  assert.deepEqual((await s.api('POST', fresh, undefined, json)).json, { status: 'confirmed' });
  const back = await record(email);
  assert.equal(back.status, 'confirmed');
  assert.deepEqual(back.topics, ['sport'], 'the topics chosen before, not those posted by anyone');
  assert.ok(await gets(email, 'De retour'));

  // Once more out, neither link brings them back.
  await unsubscribe(email);
  await refused(fresh, email);
  await refused(old, email);
});

test('a bounced address re-posted stays bounced and is mailed nothing', async () => {
  const email = 'boite-morte@exemple.fr';
  s.smtp.setRcptReject(email, 550, '5.1.1 User unknown');
  try {
    assert.equal((await post(email, ['sport'])).status, 202);
    await until(async () => (await record(email)).status === 'bounced');
  } finally {
    s.smtp.reset();
  }
  const before = await record(email);
  const jobs = await mailJobs(before.id);
  // The mailbox may work again by now: still, a stranger's post must not mail it nor revive it.
  assert.equal((await post(email, ['culture'])).status, 202);
  assert.deepEqual(await record(email), before);
  assert.equal(await mailJobs(before.id), jobs, 'no confirmation mail asked for');
  await confirmationLink('repere-2@exemple.fr');
  assert.equal(mailsTo(s, email).length, 0);
});

test("re-posting answers exactly as for a new address, whatever the known address's state", async () => {
  const shape = (r: ApiAnswer) => ({ status: r.status, type: r.headers.get('content-type'), body: r.text });
  const fresh = shape(await post('tout-neuf@exemple.fr', ['sport']));
  assert.equal(fresh.status, 202);
  // By now these are pending, confirmed, unsubscribed, unsubscribed again and bounced.
  for (const known of ['tout-neuf@exemple.fr', 'fidele@exemple.fr', 'parti@exemple.fr', 'revenant@exemple.fr', 'boite-morte@exemple.fr']) {
    assert.deepEqual(shape(await post(known, ['culture'])), fresh, known);
  }
});
