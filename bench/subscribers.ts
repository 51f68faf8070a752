// Bench subscribers: FCM-shaped endpoints on the local push service, written as the import's
// NDJSON. Generating a million P-256 key pairs would take a minute, so subscribers share a pool of
// real key pairs (the sender still does a fresh ECDH and salt per message, so its cost is the
// same); the endpoint's token names the pool entry, so the push service can decrypt any message.
import { createECDH, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface PoolKey {
  privateKey: string;
  publicKey: string;
  auth: string;
}

export function keyPool(size: number): PoolKey[] {
  return Array.from({ length: size }, () => {
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys().toString('base64url');
    return { privateKey: ecdh.getPrivateKey().toString('base64url'), publicKey, auth: randomBytes(16).toString('base64url') };
  });
}

/** FCM's endpoints are https://fcm.googleapis.com/fcm/send/<22 chars>:APA91b<…>, ~190 characters. */
const FCM_BASE = 'https://fcm.googleapis.com/fcm/send/';
const ENDPOINT_LENGTH = 190;

/** The token: the pool index (6 base-36 digits) and random characters, FCM's shape and length. */
export function token(poolIndex: number): string {
  const first = poolIndex.toString(36).padStart(6, '0') + randomBytes(12).toString('base64url');
  const second = 'APA91b' + randomBytes(96).toString('base64url');
  return `${first}:${second}`.slice(0, ENDPOINT_LENGTH - FCM_BASE.length);
}

export const poolIndexOf = (tok: string): number => parseInt(tok.slice(0, 6), 36);

/**
 * Writes n subscription lines to `file`; a third follow "sport", the rest no topic. With `extra`,
 * every `every`-th subscriber (from the first, `count` of them) also follows `slug`: a small audience spread over
 * the whole id range, as a flash topic's readers are. A reader with no topic gets every alert, a
 * topic alert included, so with `extra` the others follow "international" instead: the alert to
 * `slug` then reaches its `count` readers and no one else.
 */
export async function writeSubscribers(
  file: string,
  n: number,
  origin: string,
  pool: readonly PoolKey[],
  extra?: { slug: string; every: number; count: number },
): Promise<void> {
  const out = createWriteStream(file);
  let buf = '';
  for (let i = 0; i < n; i++) {
    const k = pool[i % pool.length];
    const topics = [
      ...(i % 3 === 0 ? ['sport'] : extra ? ['international'] : []),
      ...(extra && i % extra.every === 0 && i / extra.every < extra.count ? [extra.slug] : []),
    ];
    const line = {
      subscription: { endpoint: `${origin}/fcm/send/${token(i % pool.length)}`, keys: { p256dh: k.publicKey, auth: k.auth } },
      ...(topics.length > 0 ? { topics } : {}),
    };
    buf += JSON.stringify(line) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}
