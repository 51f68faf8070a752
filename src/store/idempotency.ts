// Idempotency-Key for publishing: the first request with a key claims it with SET NX, so of two
// racing requests exactly one publishes; the other finds the claim and answers with the same
// alert. The claim remembers a fingerprint of the body: the same key with another body is refused.
// Keys are scoped per editor (two editors never collide) and forgotten after a day.
import { createHash } from 'node:crypto';
import type { Keys } from './keys';
import type { RedisClient } from './redis';

export type Claim = { kind: 'new' } | { kind: 'replay'; alertId: string } | { kind: 'mismatch' };

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** A stable digest of a JSON value: object keys sorted, so key order does not matter. */
export function fingerprint(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('base64url')
    .slice(0, 32);
}

export class IdempotencyKeys {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  async claim(editor: string, key: string, print: string, alertId: string): Promise<Claim> {
    const rk = this.key(editor, key);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.redis.set(rk, `${print} ${alertId}`, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX')) return { kind: 'new' };
      const held = await this.redis.get(rk);
      if (!held) continue; // expired between the two calls: claim again
      const [p, id] = held.split(' ');
      return p === print && id ? { kind: 'replay', alertId: id } : { kind: 'mismatch' };
    }
    return { kind: 'mismatch' };
  }

  /** Gives a key back when the publish it guarded failed, so a retry can publish. */
  async release(editor: string, key: string, alertId: string): Promise<void> {
    const rk = this.key(editor, key);
    const held = await this.redis.get(rk);
    if (held?.endsWith(` ${alertId}`)) await this.redis.del(rk);
  }

  private key(editor: string, key: string): string {
    return this.k.idempotency(editor, createHash('sha256').update(key).digest('base64url').slice(0, 32));
  }
}
