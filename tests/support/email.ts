// Email helpers for tests: subscribe and confirm through the real API and the real mail, or seed
// confirmed subscribers straight into the store when a test is about what comes after.
import assert from 'node:assert/strict';
import type { ReceivedMail } from './smtp';
import { deliveryJobId } from '../../src/pipeline/deliver';
import type { Stack } from './stack';

/** The path and query of the first link to our public base URL in a text that matches `kind`. */
export function linkIn(text: string, kind: 'confirm' | 'unsubscribe' | 'preferences'): string {
  const m = new RegExp(`https://alertes\\.example\\.fr(/api/subscriptions/email/${kind}\\?token=[\\w.-]+)`).exec(text);
  assert.ok(m, `no ${kind} link in:\n${text}`);
  return m[1];
}

/** Mails received since index `from` by one address. */
export const mailsTo = (s: Stack, address: string, from = 0): ReceivedMail[] =>
  s.smtp.messages.slice(from).filter((m) => m.to.includes(address));

/** Subscribes through the API and confirms with the link of the confirmation mail, as a reader would. */
export async function subscribeAndConfirm(s: Stack, address: string, topics: string[] = []): Promise<void> {
  const n = s.smtp.messages.length;
  const r = await s.api('POST', '/api/subscriptions/email', { email: address, topics });
  assert.equal(r.status, 202);
  await s.smtp.waitFor(n + 1, 5000);
  const link = linkIn(mailsTo(s, address, n).at(-1)!.text, 'confirm');
  const ok = await s.api('POST', link, undefined, { accept: 'application/json' });
  assert.equal(ok.status, 200);
}

/** Confirmed subscribers written straight into the store; returns their ids. */
export async function seedConfirmed(s: Stack, addresses: string[], topics: string[] = []): Promise<number[]> {
  const subs = s.app.domain.emailSubscribers;
  const ids: number[] = [];
  for (const a of addresses) {
    const sub = await subs.requestSubscription(a, topics);
    await subs.confirm(sub.id, sub.statusVersion);
    ids.push(sub.id);
  }
  return ids;
}

/** Every one of `audience` subscribers got the alert exactly once, and only after its batch was retried. */
export async function deliveredOnceAfterRetry(s: Stack, alertId: string, audience: number, mailsBefore: number): Promise<void> {
  const view = await s.delivered(alertId, 30_000);
  assert.deepEqual(view.delivery.email, { targeted: audience, sent: audience, failed: 0, bounced: 0, complained: 0 });
  const got = s.smtp.messages.slice(mailsBefore).map((m) => m.to[0]);
  assert.equal(got.length, audience, 'nothing lost');
  assert.equal(new Set(got).size, audience, 'nobody twice');
  const job = await s.app.queues.email.getJob(deliveryJobId({ alertId, rev: 1, channel: 'email', wave: 'g0', start: 0 }));
  assert.ok((job?.attemptsMade ?? 0) >= 1, 'the batch was retried');
}
