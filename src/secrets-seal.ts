// How generated secrets are written to Redis: a JSON envelope whose `origin` stays readable by the
// scripts in secrets.ts, and whose contents are sealed with AES-256-GCM when SECRETS_KEY is set, so
// a Redis dump or a replica does not hand out the VAPID private key or the link-signing key.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import webpush from 'web-push';

/** What a process generates when the operator did not set it. */
export interface Bundle {
  vapidPublicKey: string;
  vapidPrivateKey: string;
  tokenSecret: string;
  editorSecret: string;
}

/** generated: made by a process at start; imported: read from an old DATA_DIR/secrets.json. */
export type Origin = 'generated' | 'imported';

interface Envelope {
  origin: Origin;
  v: 1;
  bundle?: Bundle;
  sealed?: string;
}

export function freshBundle(): Bundle {
  const keys = webpush.generateVAPIDKeys();
  return {
    vapidPublicKey: keys.publicKey,
    vapidPrivateKey: keys.privateKey,
    tokenSecret: randomBytes(32).toString('base64url'),
    editorSecret: randomBytes(24).toString('base64url'),
  };
}

/** A short, stable name for a VAPID public key, safe to log: the first 16 hex digits of its SHA-256. */
export function fingerprint(publicKey: string): string {
  return createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex').slice(0, 16);
}

export class Sealer {
  private readonly key?: Buffer;

  /** `aad`: the Redis key the envelope lives under, so a sealed value cannot be moved to another key. */
  constructor(
    secretsKey: string | undefined,
    salt: string,
    private readonly aad: string,
  ) {
    if (secretsKey) this.key = Buffer.from(hkdfSync('sha256', secretsKey, salt, 'depeche generated secrets v1', 32));
  }

  get encrypts(): boolean {
    return this.key !== undefined;
  }

  seal(origin: Origin, bundle: Bundle): string {
    if (!this.key) return JSON.stringify({ origin, v: 1, bundle } satisfies Envelope);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(this.aad));
    const data = Buffer.concat([cipher.update(JSON.stringify(bundle)), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url');
    return JSON.stringify({ origin, v: 1, sealed } satisfies Envelope);
  }

  /** Throws one clear line when the value cannot be read with the key we have (or lack). */
  open(raw: string): { origin: Origin; bundle: Bundle; sealed: boolean } {
    const env = JSON.parse(raw) as Envelope;
    if (env.bundle) return { origin: env.origin, bundle: env.bundle, sealed: false };
    if (!env.sealed) throw new Error('the generated secrets in Redis are malformed');
    if (!this.key) throw new Error('the generated secrets in Redis are encrypted: set SECRETS_KEY to the key the other processes use');
    const buf = Buffer.from(env.sealed, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, 12)).setAAD(Buffer.from(this.aad));
      decipher.setAuthTag(buf.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
      return { origin: env.origin, bundle: JSON.parse(plain) as Bundle, sealed: true };
    } catch {
      throw new Error('SECRETS_KEY does not decrypt the generated secrets in Redis: every process must use the same SECRETS_KEY');
    }
  }
}
