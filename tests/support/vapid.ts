import { createPublicKey, verify } from 'node:crypto';

/** Claims of a VAPID token that passed verification (RFC 8292). */
export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
  /** The application server's public key, base64url, as sent in `k=`. */
  k: string;
}

export type VapidResult = { ok: true; claims: VapidClaims } | { ok: false; reason: string };

// A push service accepts tokens valid for at most 24 hours (RFC 8292 §2).
const MAX_LIFETIME_S = 24 * 60 * 60;

function b64urlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses `vapid t=<jwt>, k=<key>` into its parameters; null if it is another scheme. */
function parseAuthorization(header: string): Map<string, string> | null {
  const m = /^vapid\s+(.*)$/is.exec(header.trim());
  if (!m) return null;
  const params = new Map<string, string>();
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) params.set(piece.slice(0, eq).trim().toLowerCase(), piece.slice(eq + 1).trim());
  }
  return params;
}

function publicKeyFromRaw(raw: Buffer): ReturnType<typeof createPublicKey> {
  // Node cannot import a raw EC point directly; a JWK built from x/y is the shortest route.
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
}

/**
 * Verifies an Authorization header against the push service's own origin and, when given, the
 * applicationServerKey the subscription was made with (base64url): a push service binds a
 * subscription to that key, so a token signed by any other key is refused even if it verifies.
 */
export function verifyVapid(header: string | undefined, origin: string, applicationServerKey?: string, nowMs = Date.now()): VapidResult {
  if (!header) return { ok: false, reason: 'missing Authorization header' };
  const params = parseAuthorization(header);
  if (!params) return { ok: false, reason: 'Authorization scheme is not vapid' };
  const t = params.get('t');
  const k = params.get('k');
  if (!t || !k) return { ok: false, reason: 'vapid header lacks t= or k=' };

  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 0x04) return { ok: false, reason: 'k is not an uncompressed P-256 point' };
  if (applicationServerKey !== undefined && !raw.equals(Buffer.from(applicationServerKey, 'base64url'))) {
    return { ok: false, reason: 'k is not the key the subscription was made with' };
  }

  const parts = t.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'token is not a JWS compact serialization' };
  let header0: unknown;
  let claims: unknown;
  try {
    header0 = b64urlJson(parts[0]);
    claims = b64urlJson(parts[1]);
  } catch {
    return { ok: false, reason: 'token header or claims are not JSON' };
  }
  if (!isRecord(header0) || header0.alg !== 'ES256') return { ok: false, reason: 'token alg is not ES256' };

  let valid: boolean;
  try {
    const signature = Buffer.from(parts[2], 'base64url');
    const key = publicKeyFromRaw(raw);
    // JWS carries r||s (64 bytes), not DER, hence ieee-p1363.
    valid = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch (err) {
    return { ok: false, reason: `signature check failed: ${(err as Error).message}` };
  }
  if (!valid) return { ok: false, reason: 'bad signature' };

  if (!isRecord(claims)) return { ok: false, reason: 'claims are not an object' };
  const { aud, exp, sub } = claims;
  if (aud !== origin) return { ok: false, reason: `aud ${String(aud)} is not ${origin}` };
  const now = Math.floor(nowMs / 1000);
  if (typeof exp !== 'number') return { ok: false, reason: 'exp missing' };
  if (exp <= now) return { ok: false, reason: 'token expired' };
  if (exp > now + MAX_LIFETIME_S) return { ok: false, reason: 'exp more than 24 h ahead' };
  if (sub === undefined) return { ok: false, reason: 'sub missing' };
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) return { ok: false, reason: 'sub is not mailto: or https:' };
  return { ok: true, claims: { aud, exp, sub, k } };
}
