// Which VAPID key each push subscriber was made with, for key rotation: one byte per subscriber
// (a string indexed by subscriber id, 8 MB at 8 million readers) holding a small key id, and a
// hash from public key to id. Byte 0 is what every subscriber stored before keys were recorded
// holds: it means key id 1, the key that was current when this table was first filled (the key
// those subscribers were made with, as long as keys are recorded before the first rotation).
import type { Keys } from './keys';
import type { RedisClient } from './redis';

const NEXT = '#next';
const MAX_KEYS = 254;

// Gives a key the next id unless it has one: several processes may start at once.
const ASSIGN = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then return tonumber(id) end
local n = redis.call('HINCRBY', KEYS[1], '${NEXT}', 1)
redis.call('HSET', KEYS[1], ARGV[1], n)
return n`;

export interface KeyUse {
  publicKey: string;
  id: number;
  subscribers: number;
}

export class PushKeys {
  private idsReady: Promise<Map<string, number>> | undefined;

  /** publicKeys: the current key first, then the previous ones still held. */
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly publicKeys: readonly string[],
  ) {}

  /** Public key → id, for every key we hold (assigned on first use, current key first). */
  ids(): Promise<Map<string, number>> {
    this.idsReady ??= (async () => {
      const out = new Map<string, number>();
      for (const key of this.publicKeys) {
        const id = Number(await this.redis.eval(ASSIGN, 1, this.k.pushKeyIds, key));
        if (id > MAX_KEYS) throw new Error(`more than ${MAX_KEYS} VAPID keys were ever recorded`);
        out.set(key, id);
      }
      return out;
    })().catch((err: unknown) => {
      this.idsReady = undefined;
      throw err;
    });
    return this.idsReady;
  }

  /** The key new subscriptions are made with. */
  get current(): string {
    return this.publicKeys[0];
  }

  /** Whether we can sign for a subscription made with this key. */
  holds(publicKey: string): boolean {
    return this.publicKeys.includes(publicKey);
  }

  /** Records the key a subscriber was made with (the current one when the browser did not say). */
  async record(subscriberId: number, publicKey = this.publicKeys[0]): Promise<void> {
    const id = (await this.ids()).get(publicKey);
    if (id === undefined) return;
    await this.redis.setrange(this.k.pushKeyOf, subscriberId, String.fromCharCode(id));
  }

  /** The public key of each of these subscribers (undefined: a key we no longer hold). One GETRANGE. */
  async keysOf(subscriberIds: readonly number[]): Promise<Map<number, string | undefined>> {
    const out = new Map<number, string | undefined>();
    if (subscriberIds.length === 0) return out;
    const byId = new Map([...(await this.ids())].map(([key, id]) => [id, key]));
    const from = Math.min(...subscriberIds);
    const bytes = await this.redis.getrangeBuffer(this.k.pushKeyOf, from, Math.max(...subscriberIds));
    for (const sid of subscriberIds) out.set(sid, byId.get(bytes[sid - from] || 1));
    return out;
  }

  /** For GET /api/push/keys: how many active subscribers each key we hold still has. */
  async usage(): Promise<KeyUse[]> {
    const ids = await this.ids();
    const [of, active] = await Promise.all([this.redis.getBuffer(this.k.pushKeyOf), this.redis.getBuffer(this.k.audActive('push'))]);
    const counts = new Map<number, number>();
    if (active) {
      for (let byte = 0; byte < active.length; byte++) {
        if (active[byte] === 0) continue;
        for (let bit = 0; bit < 8; bit++) {
          if (!(active[byte] & (0x80 >> bit))) continue;
          const id = of?.[byte * 8 + bit] || 1;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    }
    return [...ids].map(([publicKey, id]) => ({ publicKey, id, subscribers: counts.get(id) ?? 0 }));
  }
}
