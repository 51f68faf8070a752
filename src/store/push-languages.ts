// The language of each push subscriber, as one bitmap per language (LANGUAGES, a closed set): an
// eighth of a byte per subscriber and language, where a field in the packed record would change
// its format. A subscriber without a bit in any reads the newsroom's default language. A delivery
// batch reads the 64-byte slice of each bitmap that covers its bucket, in the same round trip.
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';
import { LANGUAGES, type Lang } from '../model';

const BUCKET_BYTES = (1 << BUCKET_BITS) / 8;
const SLICE = 2048;

export class PushLanguages {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  /** Each subscriber's bit in its language's bitmap, cleared in the others; one MULTI for all. */
  async set(entries: readonly { id: number; lang: Lang }[]): Promise<void> {
    if (entries.length === 0) return;
    const m = this.redis.multi();
    // A BITFIELD per language and per slice of entries: one command's arguments stay well below
    // what a spread call (and Redis's query buffer) takes, however large the import's chunk.
    for (let i = 0; i < entries.length; i += SLICE)
      for (const lang of LANGUAGES) {
        const args = entries.slice(i, i + SLICE).flatMap((e) => ['SET', 'u1', e.id, e.lang === lang ? 1 : 0]);
        m.call('BITFIELD', this.k.pushLang(lang), ...args);
      }
    const failed = (await m.exec())?.find(([err]) => err);
    if (failed) throw failed[0]!;
  }

  /** Forgets a subscriber's language (it leaves). */
  async clear(id: number): Promise<void> {
    const m = this.redis.multi();
    for (const lang of LANGUAGES) m.setbit(this.k.pushLang(lang), id, 0);
    await m.exec();
  }

  /** The subscribers among `ids` who chose a language; the others are absent (default language). */
  async of(ids: readonly number[]): Promise<Map<number, Lang>> {
    const buckets = [...new Set(ids.map((id) => id >> BUCKET_BITS))];
    const slices = await Promise.all(
      buckets.flatMap((b) =>
        LANGUAGES.map(async (lang) => {
          const from = b * BUCKET_BYTES;
          return { lang, from, bits: await this.redis.getrangeBuffer(this.k.pushLang(lang), from, from + BUCKET_BYTES - 1) };
        }),
      ),
    );
    const out = new Map<number, Lang>();
    const wanted = new Set(ids);
    for (const { lang, from, bits } of slices) {
      for (let i = 0; i < bits.length; i++) {
        if (bits[i] === 0) continue;
        for (let b = 0; b < 8; b++) {
          const id = (from + i) * 8 + b;
          if (bits[i] & (0x80 >> b) && wanted.has(id)) out.set(id, lang);
        }
      }
    }
    return out;
  }
}
