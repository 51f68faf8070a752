// Every Redis key the project writes is named here. Hash tags ({…}) decide which keys share a
// Redis Cluster slot: an alert's own keys share {a:<id>} so one script can touch them together;
// all audience bitmaps of a channel share {aud:<channel>} because BITOP needs its keys in one slot;
// subscriber records are spread over slots by bucket.
import type { Channel, DeliveryEvent, Lang, OutcomeKind } from '../model';

/** What a report that came back later says about one message. */
export type LateKind = 'bounced' | 'soft' | 'complained';

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
    /** VAPID public key → small id, and one byte per push subscriber naming its key (push-keys.ts). */
    pushKeyIds: `${p}:pushkeys:ids`,
    pushKeyOf: `${p}:pushkeys:of`,
    emailRecord: (id: number) => `${p}:es:{${id >> BUCKET_BITS}}:${id}`,
    emailIndex: `${p}:email:byaddr`,
    /** Email subscribers with a soft bounce on record (soft-bounces.ts): a batch reads it once. */
    emailSoftStrikes: `${p}:email:soft`,
    /** Their recent messages, bounced or accepted, in send order (next to the subscriber's record). */
    emailSoftLog: (id: number) => `${p}:es:{${id >> BUCKET_BITS}}:${id}:soft`,
    /** Messages sent in one second, for EMAIL_RATE_PER_SECOND. */
    emailRate: (second: number) => `${p}:email:rate:${second}`,
    audTopic: (ch: Channel, topicId: number) => `${p}:{aud:${ch}}:t:${topicId}`,
    audNoTopic: (ch: Channel) => `${p}:{aud:${ch}}:none`,
    audActive: (ch: Channel) => `${p}:{aud:${ch}}:active`,
    /**
     * Push subscribers with refusals in a row (id → "count,first day,status"), 512 to a hash, only
     * those with strikes; and the quarantined ones. In the audience's slot: quarantining clears the
     * active bit in the same script.
     */
    pushStrikes: (bucket: number) => `${p}:{aud:push}:strikes:${bucket}`,
    pushQuarantined: `${p}:{aud:push}:quarantined`,
    /**
     * Push subscribers who chose a language: one bitmap per language of LANGUAGES (a closed set).
     * No bit in any: the newsroom's default language. (Email keeps `lang` in its record.)
     */
    pushLang: (lang: Lang) => `${p}:{aud:push}:lang:${lang}`,
    /** Scratch bitmaps for BITOPs over a channel's audience bitmaps (same slot). */
    audTmp: (ch: Channel, tag: string) => `${p}:{aud:${ch}}:tmp:${tag}`,
    /** Members of one quiet-hours group (a time zone and a window) of a channel. */
    audQuiet: (ch: Channel, groupId: number) => `${p}:{aud:${ch}}:q:${groupId}`,
    /**
     * Which quiet-hours group each subscriber of a channel is in (id → group id), 512 to a hash;
     * absent: the default group. In the channel's slot, so a move is one script with both bitmaps.
     */
    audQuietMembers: (ch: Channel, bucket: number) => `${p}:{aud:${ch}}:qm:${bucket}`,
    /** Quiet-hours groups: "tz|window" ⇄ small integer ids. */
    quietGroups: `${p}:quiet:groups`,
    /** Held by the one process that brings groups from before audQuietMembers up to date. */
    quietUpgrade: `${p}:quiet:upgrading`,
    /** Members of one daily-digest group (a time zone and a time of day); email only. */
    audDigest: (groupId: number) => `${p}:{aud:email}:dg:${groupId}`,
    /** Every digest reader: ANDNOT'ed from each revision's email audience (no instant email for them). */
    audDigestReaders: `${p}:{aud:email}:digest`,
    /** Which digest group each email subscriber is in (id → group id), 512 to a hash; absent: instant emails. */
    audDigestMembers: (bucket: number) => `${p}:{aud:email}:dgm:${bucket}`,
    /** Digest groups: "tz|HH:MM" ⇄ small integer ids. */
    digestGroups: `${p}:digest:groups`,
    /** Readers whose digest of one local day was handled (set before the send: at most one a day). */
    digestClaimed: (date: string) => `${p}:{dd:${date}}:claimed`,
    /** One digest run (a due minute): outcome bitmaps and their counts, in one slot for one script. */
    digestRunBits: (at: number, kind: string) => `${p}:{dr:${at}}:${kind}`,
    digestRunStats: (at: number) => `${p}:{dr:${at}}:stats`,
    /** Due minutes that had groups (score = minute), for the console; and the last minute ticked. */
    digestRuns: `${p}:digest:runs`,
    digestCursor: `${p}:digest:cursor`,
    alert: (id: string) => `${p}:{a:${id}}:alert`,
    /** One revision's state: explicit status, open pieces of work, counts, batch and wave marks. */
    alertState: (id: string, rev: number) => `${p}:{a:${id}}:${rev}:state`,
    /** Marks of a revision's pieces of work (waves, batches): queued, held or done. */
    alertMarks: (id: string, rev: number) => `${p}:{a:${id}}:${rev}:marks`,
    /** A revision's frozen audience, kept with the alert so BITOPs with its outcome bitmaps stay in one slot. */
    alertAudience: (id: string, rev: number, ch: Channel) => `${p}:{a:${id}}:${rev}:${ch}:aud`,
    /** Who one wave of a revision sends to: the audience minus the settled and the held. */
    alertWave: (id: string, rev: number, ch: Channel, wave: string) => `${p}:{a:${id}}:${rev}:${ch}:w:${wave}`,
    /** "<stop> <gen>": revisions up to <stop> must not send; only batches of generation <gen> may. */
    alertCtl: (id: string) => `${p}:{a:${id}}:ctl`,
    alertTmp: (id: string, tag: string) => `${p}:{a:${id}}:tmp:${tag}`,
    /** Per-recipient outcome bitmaps, indexed by subscriber id. `skipped`: left before their turn. */
    alertBits: (id: string, rev: number, ch: Channel, kind: OutcomeKind) => `${p}:{a:${id}}:${rev}:${ch}:${kind}`,
    /** Reports that came back after the send, one bit per subscriber: each counts once per revision. */
    alertLate: (id: string, rev: number, kind: LateKind) => `${p}:{a:${id}}:${rev}:email:late:${kind}`,
    /**
     * A revision's delivery report: accepted outcomes per time bucket (`t:<ch>:<ms>`), receipts per
     * bucket (`r:push:<ms>`), per push service figures (`s:<service>:…`). See delivery-report.ts.
     */
    alertReport: (id: string, rev: number) => `${p}:{a:${id}}:${rev}:report`,
    /** Who sent back a receipt (`received`) or clicked (`clicked`), per revision and channel. */
    alertEvents: (id: string, rev: number, ch: Channel, event: DeliveryEvent) => `${p}:{a:${id}}:${rev}:${ch}:ev:${event}`,
    alertIndex: `${p}:alerts`,
    /** The suppression list: address → why and since when. */
    suppressions: `${p}:email:suppressed`,
    /** A Mailgun webhook token already acted on (Mailgun's advice against replays; expires with the skew window). */
    hookToken: (provider: string, tokenHash: string) => `${p}:hook:${provider}:${tokenHash}`,
    /** Inbound mail we could not read, newest first, capped (for an operator to look at). */
    inboundUnparsed: `${p}:inbound:unparsed`,
    /** Messages one peer handed the inbound listener this minute (same family as rateLimit). */
    inboundRate: (peer: string) => `${p}:rl:smtp:${peer}`,
    /** Prefix of the per-IP request counters of the public endpoints (expire with their window). */
    rateLimit: `${p}:rl:`,
    /** Failed token checks of one client address (same family as the counters above; expire with their window). */
    signInFailures: (address: string) => `${p}:rl:signin:${address}`,
    /** Console sign-in sessions and unsaved drafts shown in the email preview; both expire. */
    session: (id: string) => `${p}:session:${id}`,
    draft: (id: string) => `${p}:draft:${id}`,
    /** Idempotency-Key of one editor → "<fingerprint> <alert id>". */
    idempotency: (editor: string, keyHash: string) => `${p}:idem:${editor}:${keyHash}`,
    audit: `${p}:audit`,
    /** The generated secrets every process shares, and the VAPID key the API serves (one slot: one script reads both). */
    secrets: `${p}:{secrets}:generated`,
    vapidServed: `${p}:{secrets}:vapid-served`,
    /** Outbound webhook endpoints (one hash each), their index and their capped delivery logs: one slot. */
    webhook: (id: string) => `${p}:{wh}:ep:${id}`,
    webhookIds: `${p}:{wh}:eps`,
    webhookLog: (id: string) => `${p}:{wh}:log:${id}`,
    /** One CMS post → the alert it published and the last CMS revision seen (hash). */
    cmsPost: (cms: string, postKey: string) => `${p}:cms:${cms}:${postKey}`,
    /** When the last non-flash alert was allowed to start (MIN_ALERT_GAP). */
    gapSlot: `${p}:gap`,
  };
}
export type Keys = ReturnType<typeof keys>;
