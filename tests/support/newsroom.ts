// Helpers for the newsroom-workflow tests: subscribers made through the public API (or, for
// large audiences, straight through the store), and small readers of what the fakes received.
import assert from 'node:assert/strict';
import type { Loose, Stack } from './stack';
import type { TestSubscriber } from './push-service';

export interface PushOpts {
  topics?: string[];
  timeZone?: string;
  quietHours?: string;
}

/** A browser subscribes through the API; returns the fake's subscriber and our id. */
export async function subscribePush(s: Stack, opts: PushOpts = {}): Promise<TestSubscriber & { dpId: string }> {
  const b = s.push.newSubscriber();
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, ...opts });
  assert.equal(r.status, 201, r.text);
  return { ...b, dpId: String(r.json.id) };
}

/** Many push subscribers at once, through the store's bulk path (the import's), not a request each. */
export async function seedPush(s: Stack, n: number, chunk = 1000): Promise<TestSubscriber[]> {
  const subs = Array.from({ length: n }, () => s.push.newSubscriber());
  for (let i = 0; i < subs.length; i += chunk) {
    await s.app.domain.pushSubscribers.upsertMany(
      subs.slice(i, i + chunk).map((b) => ({
        endpoint: b.endpoint,
        p256dh: Buffer.from(b.keys.p256dh, 'base64url'),
        auth: Buffer.from(b.keys.auth, 'base64url'),
        topics: [],
      })),
    );
  }
  return subs;
}

/** Subscribes an address and clicks the confirmation link, as a reader would. */
export async function confirmEmail(s: Stack, address: string, extra: Record<string, unknown> = {}): Promise<void> {
  const before = s.smtp.messages.length;
  const r = await s.api('POST', '/api/subscriptions/email', { email: address, ...extra });
  assert.equal(r.status, 202, r.text);
  await s.smtp.waitFor(before + 1, 3000);
  const mail = s.smtp.messages.filter((m) => m.to.includes(address)).at(-1)!;
  const link = /https:\/\/alertes\.example\.fr(\/api\/subscriptions\/email\/confirm\?token=[\w.-]+)/.exec(mail.text)![1];
  const page = await s.api('GET', link);
  assert.equal(page.status, 200);
  assert.match(page.text, /<form method="post"/);
  const ok = await s.api('POST', link, undefined, { accept: 'application/json' });
  assert.equal(ok.status, 200);
  assert.equal(String(ok.json.status), 'confirmed');
}

export interface PushSeen {
  subscriberId: string;
  title: string;
  rev: number;
  kind: string;
  tag: string;
  topic?: string;
  receivedAt: number;
}

interface Payload {
  id: string;
  title: string;
  rev: number;
  kind: string;
  tag: string;
}
const parsed = new WeakMap<object, Payload>();

/** The pushes the fake push service decrypted for one alert (payloads parsed once: tests poll this). */
export function pushesOf(s: Stack, alertId: string): PushSeen[] {
  return s.push.messages.flatMap((m) => {
    let p = parsed.get(m);
    if (!p) {
      p = m.json() as Payload;
      parsed.set(m, p);
    }
    return p.id === alertId
      ? [
          {
            subscriberId: m.subscriberId,
            title: p.title,
            rev: p.rev,
            kind: p.kind,
            tag: p.tag,
            topic: m.headers.topic,
            receivedAt: m.receivedAt,
          },
        ]
      : [];
  });
}

/** Mails whose Message-ID belongs to this alert. */
export function mailsOf(s: Stack, alertId: string) {
  return s.smtp.messages.filter((m) => (m.headers['message-id'] ?? '').startsWith(`<${alertId}.`));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JSON array in an API answer, as a list (Loose indexes but does not iterate). */
export const items = (v: Loose | undefined): Loose[] => (v ?? []) as unknown as Loose[];

/** "HH:MM:SS" on the clock of `timeZone` at instant `ms`. */
export function clockAt(timeZone: string, ms: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(
    new Date(ms),
  );
}

/** A quiet window, as subscribers and QUIET_HOURS write it, from one instant to another on a zone's clock. */
export const windowAround = (timeZone: string, fromMs: number, toMs: number) => `${clockAt(timeZone, fromMs)}-${clockAt(timeZone, toMs)}`;
