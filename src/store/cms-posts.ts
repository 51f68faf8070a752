// What the CMS hook remembers of each post: the alert its first revision published and the last
// CMS revision seen. The claim is one script, so two deliveries of the same (post, revision) —
// a CMS retrying, or saving twice in a row — find exactly one winner, and an older revision
// arriving late is recognised as already superseded. Only signed CMS requests reach it.
import { createHash } from 'node:crypto';
import type { Keys } from './keys';
import type { RedisClient } from './redis';

export type PostClaim =
  | { kind: 'first'; alertId: string }
  | { kind: 'update'; alertId: string; previous: number }
  | { kind: 'duplicate'; alertId: string; revision: number };

// KEYS: the post's hash. ARGV: revision, alert id to use when the post is new.
const CLAIM = `
local rev = tonumber(ARGV[1])
local alert = redis.call('HGET', KEYS[1], 'alertId')
if not alert then
  redis.call('HSET', KEYS[1], 'alertId', ARGV[2], 'revision', rev)
  return {'first', ARGV[2], 0}
end
local last = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if rev <= last then return {'duplicate', alert, last} end
redis.call('HSET', KEYS[1], 'revision', rev)
return {'update', alert, last}`;

// Gives a claim back when its publish failed. A failed first publish forgets the post whatever
// came after (no alert exists to update); a failed update restores the previous revision only
// if nothing newer claimed the post meanwhile. ARGV: alert id, revision claimed, previous (0: new).
const RELEASE = `
if redis.call('HGET', KEYS[1], 'alertId') ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then redis.call('DEL', KEYS[1]) return 1 end
if tonumber(redis.call('HGET', KEYS[1], 'revision') or '0') ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'revision', ARGV[3])
return 1`;

export class CmsPosts {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  private key(cms: string, postId: string): string {
    // Hashed: the CMS chooses post ids, our key names stay short and of one alphabet.
    return this.k.cmsPost(cms, createHash('sha256').update(postId).digest('base64url').slice(0, 22));
  }

  async claim(cms: string, postId: string, revision: number, newAlertId: string): Promise<PostClaim> {
    const [kind, alertId, last] = (await this.redis.eval(CLAIM, 1, this.key(cms, postId), revision, newAlertId)) as [
      string,
      string,
      number,
    ];
    if (kind === 'first') return { kind, alertId };
    if (kind === 'update') return { kind, alertId, previous: last };
    return { kind: 'duplicate', alertId, revision: last };
  }

  async release(cms: string, postId: string, claim: PostClaim, revision: number): Promise<void> {
    if (claim.kind === 'duplicate') return;
    const previous = claim.kind === 'update' ? claim.previous : 0;
    await this.redis.eval(RELEASE, 1, this.key(cms, postId), claim.alertId, revision, previous);
  }

  async alertOf(cms: string, postId: string): Promise<string | null> {
    return this.redis.hget(this.key(cms, postId), 'alertId');
  }
}
