// Every Redis key the project writes is named here. Hash tags ({…}) decide which keys share a
// Redis Cluster slot: an alert's own keys share {a:<id>} so one script can touch them together;
// all audience bitmaps of a channel share {aud:<channel>} because BITOP needs its keys in one slot;
// subscriber records are spread over slots by bucket.
export type Channel = 'push' | 'email';
export const CHANNELS: readonly Channel[] = ['push', 'email'];

/** Subscribers are bucketed 512 to a hash: small hashes stay compact, and a batch reads one bucket. */
export const BUCKET_BITS = 9;

export function keys(prefix: string) {
  const p = prefix;
  return {
    queuePrefix: `{${p}q}`,
    nextId: (ch: Channel) => `${p}:${ch}:nextid`,
    topicIds: `${p}:topics`,
    pushRecords: (bucket: number) => `${p}:ps:{${bucket}}`,
    pushIndex: (shard: string) => `${p}:pe:{${shard}}`,
    origins: `${p}:origins`,
    emailRecord: (id: number) => `${p}:es:{${id >> BUCKET_BITS}}:${id}`,
    emailIndex: `${p}:email:byaddr`,
    /** Messages sent in one second, for EMAIL_RATE_PER_SECOND. */
    emailRate: (second: number) => `${p}:email:rate:${second}`,
    audTopic: (ch: Channel, topicId: number) => `${p}:{aud:${ch}}:t:${topicId}`,
    audNoTopic: (ch: Channel) => `${p}:{aud:${ch}}:none`,
    audActive: (ch: Channel) => `${p}:{aud:${ch}}:active`,
    audAlert: (ch: Channel, alertId: string, rev: number) => `${p}:{aud:${ch}}:alert:${alertId}:${rev}`,
    alert: (id: string) => `${p}:{a:${id}}:alert`,
    alertCounts: (id: string) => `${p}:{a:${id}}:counts`,
    /** Per-recipient outcome bitmaps: `sent`, `failed`, `expired`, indexed by subscriber id. */
    alertBits: (id: string, rev: number, ch: Channel, kind: 'sent' | 'failed' | 'expired') => `${p}:{a:${id}}:${rev}:${ch}:${kind}`,
    alertIndex: `${p}:alerts`,
    /** Prefix of the per-IP request counters of the public endpoints (expire with their window). */
    rateLimit: `${p}:rl:`,
    /** Console sign-in sessions and unsaved drafts shown in the email preview; both expire. */
    session: (id: string) => `${p}:session:${id}`,
    draft: (id: string) => `${p}:draft:${id}`,
  };
}
export type Keys = ReturnType<typeof keys>;
