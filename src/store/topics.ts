// The newsroom's topics. Each one is a small integer id (subscriber records and audience bitmaps
// carry 2-byte ids, not strings) and a label readers see. Only editors (or PAGE_TOPICS) create
// topics, and there are at most MAX_TOPICS of them: each costs one bitmap per channel as long as
// the highest subscriber id, so a stranger must never be able to add one. Everything lives in one
// hash (one key, so each change is one atomic script, on a cluster too):
//   <slug> → id, "#<id>" → slug, "@<slug>" → label, "#next" → last id given.
// Retiring removes the three fields and deletes the topic's bitmaps; ids are never given again,
// so a retired id left in an old subscriber record names nothing. Nothing is cached in process
// memory: another process may retire a topic at any moment, and a lookup is one HMGET.
import { type Keys } from './keys';
import type { RedisClient } from './redis';
import { DomainError } from '../errors';
import { CHANNELS } from '../model';

export interface Topic {
  slug: string;
  label: string;
  id: number;
  declared: boolean;
}
export interface DeclaredTopic {
  slug: string;
  label: string;
}

/** What can go wrong with a topic; the HTTP layer maps each to a status. */
export type TopicProblem = 'unknown_topic' | 'topic_exists' | 'too_many_topics' | 'declared_topic';

export class TopicError extends DomainError {
  override name = 'TopicError';
  constructor(
    override readonly code: TopicProblem,
    readonly topic: string,
    message: string,
  ) {
    // A topic nobody created is a mistake in the request; the others clash with what exists.
    super(code === 'unknown_topic' ? 'invalid' : 'conflict', code, message, { topic });
  }
}

/** Record packs ids in 16 bits. */
const MAX_ID = 0xffff;

// ARGV: slug, label, max topics, max id. Returns the new id, or 0 (exists), -1 (cap), -2 (ids spent).
const CREATE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local c = string.sub(f, 1, 1)
  if c ~= '#' and c ~= '@' then n = n + 1 end
end
if n >= tonumber(ARGV[3]) then return -1 end
if tonumber(redis.call('HGET', KEYS[1], '#next') or 0) >= tonumber(ARGV[4]) then return -2 end
local id = redis.call('HINCRBY', KEYS[1], '#next', 1)
redis.call('HSET', KEYS[1], ARGV[1], id, '#' .. id, ARGV[1], '@' .. ARGV[1], ARGV[2])
return id`;

// ARGV: slug. Returns the retired id, or 0 when the topic does not exist.
const RETIRE = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1], '#' .. id, '@' .. ARGV[1])
return tonumber(id)`;

// ARGV: slug, label. Returns 1, or 0 when the topic does not exist.
const RENAME = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], '@' .. ARGV[1], ARGV[2])
return 1`;

const unknown = (slug: string) =>
  new TopicError('unknown_topic', slug, `topic "${slug}" does not exist; editors create topics (GET /api/topics lists them)`);

export class Topics {
  private readonly declared: ReadonlyMap<string, string>;

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly opts: { max: number; declared: readonly DeclaredTopic[] },
  ) {
    this.declared = new Map(opts.declared.map((t) => [t.slug, t.label]));
  }

  /** Ids of these topics, in order; throws `unknown_topic` naming the first that is not active. */
  async resolve(slugs: readonly string[]): Promise<number[]> {
    if (slugs.length === 0) return [];
    const ids = await this.redis.hmget(this.k.topicIds, ...slugs);
    const missing = ids.findIndex((id) => !id);
    if (missing !== -1) throw unknown(slugs[missing]);
    return ids.map(Number);
  }

  /** Ids of the active topics among these (an alert may name a topic retired since). */
  async existingIds(slugs: readonly string[]): Promise<number[]> {
    if (slugs.length === 0) return [];
    const ids = await this.redis.hmget(this.k.topicIds, ...slugs);
    return ids.flatMap((id) => (id ? [Number(id)] : []));
  }

  /** These ids minus the retired ones: writing a bit into a retired id would bring its bitmap back. */
  async activeIds(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const names = await this.redis.hmget(this.k.topicIds, ...ids.map((i) => `#${i}`));
    return ids.filter((_, i) => names[i]);
  }

  /** id → slug of every active topic, read once (the export names thousands of records with it). */
  async table(): Promise<Map<number, string>> {
    return new Map((await this.list()).map((t) => [t.id, t.slug]));
  }

  /** The active topics, by label in French order. */
  async list(): Promise<Topic[]> {
    const all = await this.redis.hgetall(this.k.topicIds);
    return Object.keys(all)
      .filter((f) => !f.startsWith('#') && !f.startsWith('@'))
      .map((slug) => ({ slug, id: Number(all[slug]), label: all[`@${slug}`] ?? readable(slug), declared: this.declared.has(slug) }))
      .sort((a, b) => a.label.localeCompare(b.label, 'fr') || a.slug.localeCompare(b.slug));
  }

  async create(slug: string, label: string): Promise<Topic> {
    const id = Number(await this.redis.eval(CREATE, 1, this.k.topicIds, slug, label, this.opts.max, MAX_ID));
    if (id === 0) throw new TopicError('topic_exists', slug, `topic "${slug}" exists already`);
    if (id === -1)
      throw new TopicError('too_many_topics', slug, `there are ${this.opts.max} topics already (MAX_TOPICS); retire one first`);
    if (id === -2) throw new TopicError('too_many_topics', slug, 'every topic id has been used; topic ids are never reused');
    return { slug, label, id, declared: false };
  }

  async rename(slug: string, label: string): Promise<Topic> {
    this.refuseDeclared(slug, 'renamed');
    if (Number(await this.redis.eval(RENAME, 1, this.k.topicIds, slug, label)) === 0) throw unknown(slug);
    return { slug, label, id: (await this.resolve([slug]))[0], declared: false };
  }

  /** Retires a topic: readers can no longer choose it, and its bitmaps are deleted. */
  async retire(slug: string): Promise<{ id: number }> {
    this.refuseDeclared(slug, 'retired');
    const id = Number(await this.redis.eval(RETIRE, 1, this.k.topicIds, slug));
    if (id === 0) throw unknown(slug);
    await this.dropBitmaps([id]);
    return { id };
  }

  /**
   * At start: PAGE_TOPICS become topics (their labels from the configuration), topics already in
   * Redis from before topics had labels get one, and any bitmap left under a retired id (a
   * subscribe that was writing while its topic was retired) is deleted.
   */
  async migrate(): Promise<{ over: number }> {
    const all = await this.redis.hgetall(this.k.topicIds);
    const slugs = Object.keys(all).filter((f) => !f.startsWith('#') && !f.startsWith('@'));
    for (const [slug, label] of this.declared) {
      if (all[slug] === undefined) {
        // Declared topics are the configuration's own: the cap is for editors, not for them.
        await this.redis.eval(CREATE, 1, this.k.topicIds, slug, label, MAX_ID, MAX_ID);
      } else if (all[`@${slug}`] !== label) {
        await this.redis.hset(this.k.topicIds, `@${slug}`, label);
      }
    }
    const unlabelled = slugs.filter((s) => all[`@${s}`] === undefined && !this.declared.has(s));
    if (unlabelled.length > 0) await this.redis.hset(this.k.topicIds, ...unlabelled.flatMap((s) => [`@${s}`, readable(s)]));
    const now = await this.redis.hgetall(this.k.topicIds);
    const active = new Set(
      Object.keys(now)
        .filter((f) => !f.startsWith('#') && !f.startsWith('@'))
        .map((s) => Number(now[s])),
    );
    const last = Number(now['#next'] ?? 0);
    const retired = Array.from({ length: last }, (_, i) => i + 1).filter((id) => !active.has(id));
    await this.dropBitmaps(retired);
    return { over: Math.max(0, slugs.length - this.opts.max) };
  }

  private refuseDeclared(slug: string, what: string): void {
    if (this.declared.has(slug))
      throw new TopicError(
        'declared_topic',
        slug,
        `topic "${slug}" is declared in PAGE_TOPICS and cannot be ${what} here; change the configuration`,
      );
  }

  private async dropBitmaps(ids: readonly number[]): Promise<void> {
    // One DEL per channel and chunk: a channel's bitmaps share a slot, channels do not.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await Promise.all(CHANNELS.map((ch) => this.redis.del(...chunk.map((id) => this.k.audTopic(ch, id)))));
    }
  }
}

/** A topic from before labels existed: its slug, made readable. */
function readable(slug: string): string {
  const words = slug.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
