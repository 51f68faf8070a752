// One browser's subscription replaced by its successor in one call: a service worker that
// re-subscribed (our VAPID key changed, or the push service renewed it) hands us the new
// subscription and names the old one. The old one's topics, quiet-hours group and place are
// carried over (and its language); the old endpoint is forgotten. Only its owner may do this: the request must show
// the old subscription's `auth` secret, which only that browser and we know, so a stranger who
// learnt an endpoint cannot take a reader's subscription away.
//
// The order makes a crash harmless: the new subscriber is stored in full before the old one is
// removed, so a request cut in the middle leaves both (the old one expires at its next push,
// 404/410), never neither.
import { timingSafeEqual } from 'node:crypto';
import type { PushSubscribers, PushSubscriptionInput } from './push-subscribers';
import type { PushKeys } from './push-keys';
import type { QuietGroups } from './quiet';
import type { Topics } from './topics';
import { DomainError } from '../errors';

export interface Replacement {
  /** The old subscription: its endpoint and its `keys.auth`, as the browser had them. */
  endpoint: string;
  auth: Buffer;
}

export interface ReplaceDeps {
  pushSubscribers: PushSubscribers;
  pushKeys: PushKeys;
  quiet: QuietGroups;
  topics: Topics;
}

/**
 * Stores `next` in place of `old`. An unknown old endpoint (already forgotten) makes it a plain
 * subscribe with the topics given; a known one whose auth differs is refused, nothing changed.
 */
export async function replaceSubscription(
  d: ReplaceDeps,
  old: Replacement,
  next: PushSubscriptionInput,
  key: string | undefined,
): Promise<{ id: number; replaced: boolean }> {
  const oldId = await d.pushSubscribers.findId(old.endpoint);
  const rec = oldId === null ? null : await d.pushSubscribers.get(oldId);
  if (oldId === null || !rec) {
    const { id, created } = await d.pushSubscribers.upsert(next);
    if (key !== undefined || created) await d.pushKeys.record(id, key);
    return { id, replaced: false };
  }
  if (rec.auth.length !== old.auth.length || !timingSafeEqual(rec.auth, old.auth)) {
    throw new DomainError(
      'forbidden',
      'replacement_refused',
      'replaces.auth does not match the subscription it names: nothing was changed',
    );
  }
  // The reader's choices, as we hold them: their topics, and their quiet-hours group unless the
  // request says otherwise.
  const names = await d.topics.table();
  const topics = rec.topicIds.map((t) => names.get(t)).filter((t): t is string => t !== undefined);
  const ownQuiet = next.timeZone !== undefined || next.quietHours !== undefined;
  const group = ownQuiet ? null : await d.quiet.groupOf('push', oldId);
  // The language too, unless the request names one (a service worker re-subscribing does not).
  const lang = next.lang ?? (await d.pushSubscribers.languages.of([oldId])).get(oldId);
  const { id, created } = await d.pushSubscribers.upsert({ ...next, topics, ...(lang ? { lang } : {}) });
  if (key !== undefined || created) await d.pushKeys.record(id, key);
  if (!ownQuiet && group !== null) await d.quiet.moveTo('push', id, group);
  if (id !== oldId) await d.pushSubscribers.remove(oldId, old.endpoint);
  return { id, replaced: true };
}
