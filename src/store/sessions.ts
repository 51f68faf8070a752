// Console sessions. The browser holds only a random id (in a signed, httpOnly cookie); who signed
// in and the session's CSRF token live here, in Redis, so a sign-out or an expiry takes effect
// at once in every API process.
//
// A session is worth no more than the token it was opened with: it keeps a fingerprint of that
// token (an HMAC under a key derived from TOKEN_SECRET, so a copy of Redis does not let anyone
// test guesses of a weak token offline; never the secret itself) and ends at the first look once
// the configured editors no longer hold that token with the same name and role. It also ends
// at a fixed deadline after sign-in, however busy, besides the idle timeout every use renews.
import { createHmac, randomBytes } from 'node:crypto';
import type { EditorToken } from '../config';
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { EditorRole } from '../model';

export interface Session {
  id: string;
  name: string;
  role: EditorRole;
  csrf: string;
  createdAt: string;
  /** Epoch ms after which the session is over, whatever its use. */
  expiresAt: number;
  /** Fingerprint of the editor token it was opened with. */
  tokenFingerprint: string;
}

export interface SessionLimits {
  idleSeconds: number;
  maxAgeSeconds: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{32}$/;

export class Sessions {
  private readonly fingerprintKey: Buffer;
  /** Fingerprint → who the configured token belongs to now. */
  private readonly current = new Map<string, { name: string; role: EditorRole }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly limits: SessionLimits,
    editors: readonly EditorToken[],
    tokenSecret: string,
  ) {
    this.fingerprintKey = createHmac('sha256', tokenSecret).update('depeche session token fingerprint').digest();
    for (const e of editors) this.current.set(this.fingerprint(e.secret), { name: e.name, role: e.role });
  }

  private fingerprint(secret: string): string {
    return createHmac('sha256', this.fingerprintKey).update(secret).digest('base64url').slice(0, 22);
  }

  async create(editor: EditorToken): Promise<Session> {
    const now = Date.now();
    const s: Session = {
      id: randomBytes(24).toString('base64url'),
      name: editor.name,
      role: editor.role,
      csrf: randomBytes(24).toString('base64url'),
      createdAt: new Date(now).toISOString(),
      expiresAt: now + this.limits.maxAgeSeconds * 1000,
      tokenFingerprint: this.fingerprint(editor.secret),
    };
    const ttlMs = Math.min(this.limits.idleSeconds, this.limits.maxAgeSeconds) * 1000;
    await this.redis.set(this.k.session(s.id), JSON.stringify(s), 'PX', ttlMs);
    return s;
  }

  /**
   * The session, its idle timeout renewed (an editor at work is not signed out mid-shift) but
   * never past its deadline; null, and the record deleted, once it no longer stands.
   */
  async get(id: string): Promise<Session | null> {
    if (!SESSION_ID.test(id)) return null;
    const key = this.k.session(id);
    const s = this.parse(await this.redis.getex(key, 'EX', this.limits.idleSeconds));
    if (!s) return null;
    if (!this.stands(s)) {
      await this.redis.del(key);
      return null;
    }
    if (s.expiresAt - Date.now() < this.limits.idleSeconds * 1000) await this.redis.pexpireat(key, s.expiresAt);
    return s;
  }

  /** Whether the session still stands, without counting the look as use (open event streams ask). */
  async stillOpen(s: Session): Promise<boolean> {
    const key = this.k.session(s.id);
    const stored = this.parse(await this.redis.get(key));
    if (stored && stored.id === s.id && this.stands(stored)) return true;
    if (stored) await this.redis.del(key);
    return false;
  }

  async destroy(id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.k.session(id));
  }

  private stands(s: Session): boolean {
    const holder = this.current.get(s.tokenFingerprint);
    return holder !== undefined && holder.name === s.name && holder.role === s.role && Date.now() < s.expiresAt;
  }

  /** Records written before sessions kept a token fingerprint and a deadline are not sessions. */
  private parse(raw: string | null): Session | null {
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.tokenFingerprint === 'string' && typeof s.expiresAt === 'number' ? (s as Session) : null;
  }
}
