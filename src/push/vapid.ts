// The VAPID JWT (RFC 8292) is valid for every endpoint of one push-service origin, so we sign it
// once per origin and reuse it until an hour before it expires, instead of once per push
// (signing costs ~0.5 ms of CPU; at a million pushes that is minutes).
import webpush from 'web-push';

const LIFETIME_S = 12 * 3600; // RFC 8292 caps exp at 24 h; 12 h leaves room for clock skew
const RENEW_BEFORE_S = 3600;
// Origins can be invented under a wildcard entry of the allowlist: the cache must not grow with
// them. The sender keeps at most its cap of origins open, so this many covers every one in use.
const MAX_ORIGINS = 1024;

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

export class VapidCache {
  private readonly cache = new Map<string, { header: string; exp: number }>();

  constructor(
    private readonly keys: VapidKeys,
    private readonly now: () => number = () => Date.now() / 1000,
    private readonly maxOrigins = MAX_ORIGINS,
  ) {}

  /** Origins with a header kept (never more than maxOrigins). */
  get size(): number {
    return this.cache.size;
  }

  header(origin: string): string {
    const t = this.now();
    const hit = this.cache.get(origin);
    if (hit && hit.exp - RENEW_BEFORE_S > t) return hit.header;
    const exp = Math.floor(t) + LIFETIME_S;
    const { Authorization } = webpush.getVapidHeaders(
      origin,
      this.keys.subject,
      this.keys.publicKey,
      this.keys.privateKey,
      'aes128gcm',
      exp,
    );
    // The oldest entry first (Map order): an origin still in use is simply signed for again.
    if (!hit && this.cache.size >= this.maxOrigins) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(origin, { header: Authorization, exp });
    return Authorization;
  }
}

/**
 * The current VAPID pair and the older ones still in use (VAPID_PREVIOUS_KEYS): a push service
 * checks each JWT against the key its subscription was made with, so each push is signed with
 * that key. One cache per key, so the JWT is still signed once per (origin, key).
 */
export class VapidRing {
  private readonly caches = new Map<string, VapidCache>();

  constructor(
    private readonly current: VapidKeys,
    previous: readonly { publicKey: string; privateKey: string }[],
  ) {
    this.caches.set(current.publicKey, new VapidCache(current));
    for (const k of previous)
      if (!this.caches.has(k.publicKey)) this.caches.set(k.publicKey, new VapidCache({ ...k, subject: current.subject }));
  }

  /** Every public key we can sign with, the current one first. */
  get publicKeys(): string[] {
    return [...this.caches.keys()];
  }

  /** Signed with `publicKey`'s pair; a key we no longer hold (or none) gets the current one. */
  header(origin: string, publicKey?: string): string {
    return (this.caches.get(publicKey ?? this.current.publicKey) ?? this.caches.get(this.current.publicKey)!).header(origin);
  }
}
