// Console sessions. The browser holds only a random id (in a signed, httpOnly cookie); who signed
// in and the session's CSRF token live here, in Redis, so a sign-out or an expiry takes effect
// at once in every API process.
import { randomBytes } from 'node:crypto';
import type { EditorRole } from '../config';
import type { Keys } from './keys';
import type { RedisClient } from './redis';

export interface Session { id: string; name: string; role: EditorRole; csrf: string; createdAt: string }

const SESSION_ID = /^[A-Za-z0-9_-]{32}$/;

export class Sessions {
  constructor(private readonly redis: RedisClient, private readonly k: Keys, private readonly ttlSeconds: number) {}

  async create(editor: { name: string; role: EditorRole }): Promise<Session> {
    const s: Session = {
      id: randomBytes(24).toString('base64url'),
      name: editor.name,
      role: editor.role,
      csrf: randomBytes(24).toString('base64url'),
      createdAt: new Date().toISOString(),
    };
    await this.redis.set(this.k.session(s.id), JSON.stringify(s), 'EX', this.ttlSeconds);
    return s;
  }

  /** The session, its lifetime renewed (an editor at work is not signed out mid-shift). */
  async get(id: string): Promise<Session | null> {
    if (!SESSION_ID.test(id)) return null;
    const raw = await this.redis.getex(this.k.session(id), 'EX', this.ttlSeconds);
    return raw ? (JSON.parse(raw) as Session) : null;
  }

  async destroy(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.k.session(id));
  }
}
