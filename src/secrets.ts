// Secrets the operator did not configure are generated once and kept in Redis, the one thing every
// process on every machine shares: an API and its workers must sign with the VAPID key readers
// subscribed with, and verify links with the key that signed them. Environment values still win.
//
// Who writes what, so that two processes starting at the same instant agree:
// - an API (or `npm start`) generates the bundle with SET NX semantics, then publishes the VAPID
//   public key it serves; that publication succeeds only if the bundle it read is still the one
//   in Redis, so from then on the bundle is final;
// - an old DATA_DIR/secrets.json (the previous per-machine store) is imported by whichever process
//   has it, and may replace a bundle that was generated but not yet served (nobody can have
//   subscribed to that key), so an install keeps its VAPID identity when the file is in the API's
//   DATA_DIR, or in that of a process started before any API;
// - a worker that needs the bundle waits until an API has served it, and refuses to start when
//   its own key (from the environment) differs from the served one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, EditorToken } from './config';
import type { Logger } from './log';
import type { RedisClient } from './store/redis';
import { keys as makeKeys } from './store/keys';
import { Sealer, fingerprint, freshBundle, type Bundle } from './secrets-seal';

export { fingerprint } from './secrets-seal';

export interface Secrets {
  vapid: { publicKey: string; privateKey: string; subject: string };
  tokenSecret: string;
  editors: EditorToken[];
  /** Set when this process generated the editor token, so main can print it once. */
  generatedEditor?: EditorToken;
  /** Where the VAPID pair came from, for the start-up log line. */
  vapidSource: 'env' | 'redis';
}

/** Store the bundle if there is none, or replace one that was generated and never served. */
const IMPORT = `
local cur = redis.call('GET', KEYS[1])
if cur and (redis.call('EXISTS', KEYS[2]) == 1 or not string.find(cur, '"origin":"generated"', 1, true)) then return cur end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;
/** Store the bundle if there is none; either way answer the one stored. */
const GENERATE = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;
/** Publish the served key, only if the bundle it came with is still the stored one ('' = none used). */
const PUBLISH = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;
/** Compare-and-set of one value (sealing a bundle stored in clear once SECRETS_KEY is set). */
const SWAP = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

const WAIT_STEP_MS = 250;

export interface ResolveOptions {
  role: 'api' | 'worker';
  log: Logger;
  signal?: AbortSignal;
}

export async function resolveSecrets(config: Config, redis: RedisClient, opts: ResolveOptions): Promise<Secrets> {
  const env = config.push.vapid;
  const fromEnv = (b?: Bundle): Secrets => ({
    vapid: { publicKey: env.publicKey ?? b!.vapidPublicKey, privateKey: env.privateKey ?? b!.vapidPrivateKey, subject: env.subject },
    tokenSecret: config.tokenSecret ?? b!.tokenSecret,
    editors: config.editors ?? (b ? [{ name: 'admin', secret: b.editorSecret, role: 'chief' }] : []),
    vapidSource: env.publicKey ? 'env' : 'redis',
  });
  const k = makeKeys(config.redis.prefix);
  const sealer = new Sealer(config.secretsKey, `depeche:${config.redis.prefix}`, k.secrets);
  const needsBundle = !env.publicKey || !config.tokenSecret || (opts.role === 'api' && !config.editors);
  const oldFile = readOldFile(config.dataDir);
  let imported = false;
  if (oldFile) {
    const mine = sealer.seal('imported', oldFile);
    const stored = String(await redis.eval(IMPORT, 2, k.secrets, k.vapidServed, mine));
    imported = stored === mine;
    const inUse = imported ? oldFile.vapidPublicKey : sealer.open(stored).bundle.vapidPublicKey;
    if (inUse !== oldFile.vapidPublicKey) {
      // An API already serves another key (readers may have subscribed to it): that one stays.
      opts.log.warn(
        { ignored: join(config.dataDir, 'secrets.json'), fileKey: fingerprint(oldFile.vapidPublicKey), vapidKey: fingerprint(inUse) },
        'DATA_DIR/secrets.json was not imported: an API already serves another VAPID key from Redis',
      );
    } else if (imported) {
      opts.log.info({ vapidKey: fingerprint(oldFile.vapidPublicKey) }, 'imported DATA_DIR/secrets.json into Redis');
    }
  }
  if (opts.role === 'worker') return workerSecrets(redis, k, sealer, needsBundle, fromEnv, opts);
  if (!needsBundle) {
    await redis.eval(PUBLISH, 2, k.secrets, k.vapidServed, '', env.publicKey!);
    return fromEnv();
  }
  // A worker's import may replace a just-generated bundle between our read and our publication:
  // then the publication fails and we read again. It can happen once, not forever.
  for (let attempt = 0; attempt < 5; attempt++) {
    const mine = sealer.seal('generated', freshBundle());
    let stored = String(await redis.eval(GENERATE, 1, k.secrets, mine));
    const generated = stored === mine;
    stored = await sealInPlace(redis, k.secrets, sealer, stored);
    const { bundle } = sealer.open(stored);
    const secrets = fromEnv(bundle);
    if (Number(await redis.eval(PUBLISH, 2, k.secrets, k.vapidServed, stored, secrets.vapid.publicKey)) === 1) {
      if (generated && !imported && !config.editors) secrets.generatedEditor = secrets.editors[0];
      return secrets;
    }
  }
  throw new Error('the generated secrets in Redis kept changing during start-up');
}

async function workerSecrets(
  redis: RedisClient,
  k: ReturnType<typeof makeKeys>,
  sealer: Sealer,
  needsBundle: boolean,
  fromEnv: (b?: Bundle) => Secrets,
  opts: ResolveOptions,
): Promise<Secrets> {
  let served = await redis.get(k.vapidServed);
  if (needsBundle) {
    let told = false;
    while (served === null) {
      if (opts.signal?.aborted) throw new Error('stopped while waiting for an API to publish its VAPID key');
      if (!told) opts.log.info('waiting for an API (npm run api or npm start) to create the shared secrets in Redis');
      told = true;
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
      served = await redis.get(k.vapidServed);
    }
  }
  const stored = needsBundle ? await redis.get(k.secrets) : null;
  const secrets = fromEnv(stored ? sealer.open(stored).bundle : undefined);
  if (needsBundle && !stored) throw new Error('an API published its VAPID key but the generated secrets are missing from Redis');
  if (served !== null && served !== secrets.vapid.publicKey) {
    throw new Error(
      `this worker's VAPID public key (${fingerprint(secrets.vapid.publicKey)}, from ${secrets.vapidSource === 'env' ? 'VAPID_PUBLIC_KEY' : 'Redis'}) differs from the one the API serves (${fingerprint(served)}): readers' browsers would refuse every push; give every process the same VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or none`,
    );
  }
  if (served === null) opts.log.warn('no API has published its VAPID key yet: this worker cannot check that it signs with the same key');
  return secrets;
}

/** A bundle stored in clear before SECRETS_KEY was set gets sealed now (compare-and-set). */
async function sealInPlace(redis: RedisClient, key: string, sealer: Sealer, stored: string): Promise<string> {
  const { origin, bundle, sealed } = sealer.open(stored);
  if (sealed || !sealer.encrypts) return stored;
  const next = sealer.seal(origin, bundle);
  return Number(await redis.eval(SWAP, 1, key, stored, next)) === 1 ? next : String(await redis.get(key));
}

/** The previous per-machine store; its missing parts are generated so the bundle is whole. */
function readOldFile(dataDir: string): Bundle | undefined {
  const file = join(dataDir, 'secrets.json');
  if (!existsSync(file)) return undefined;
  const old = JSON.parse(readFileSync(file, 'utf8')) as Partial<Bundle>;
  if (!old.vapidPublicKey || !old.vapidPrivateKey) return undefined;
  const fresh = freshBundle();
  return {
    vapidPublicKey: old.vapidPublicKey,
    vapidPrivateKey: old.vapidPrivateKey,
    tokenSecret: old.tokenSecret ?? fresh.tokenSecret,
    editorSecret: old.editorSecret ?? fresh.editorSecret,
  };
}
