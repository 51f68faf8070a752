// TRUST_PROXY: which hops in front of the API may tell it the reader's address (X-Forwarded-For).
// The value is handed to express's own `trust proxy` setting, so only the two forms that cannot
// be misread are accepted: a hop count, or a list of addresses, CIDR ranges and proxy-addr's
// names. `true` (trust everyone) is refused: any reader could then pick their own address and
// with it their own rate-limit bucket.
import { isIP } from 'node:net';

export type TrustProxy = number | string[];

const NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function validEntry(entry: string): boolean {
  if (NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** "2" (hops) or "loopback, 10.0.0.0/8, 2001:db8::1"; throws a one-line message when malformed. */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined) return ['loopback'];
  const value = raw.trim();
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 20) throw new Error('TRUST_PROXY: a hop count must be between 0 and 20');
    return hops;
  }
  const entries = value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  const bad = entries.find((x) => !validEntry(x));
  if (bad !== undefined || entries.length === 0) {
    throw new Error(
      `TRUST_PROXY: "${bad ?? raw}" must be a hop count or a comma list of addresses, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal`,
    );
  }
  return entries;
}
