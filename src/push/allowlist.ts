// Push endpoints are URLs strangers give us. We accept, and ever connect to, only https URLs
// whose origin is on the push-service allowlist: exact hosts, or "*.domain" for services that
// shard by subdomain. The default port 443 is the only one allowed unless an entry names a port.
// An entry may end with `=fcm`, `=mozilla`, `=apple`, `=wns` or `=other`: the push service its
// endpoints belong to, for hosts whose name does not tell (tests, private deployments).
import { isPushService, type PushService } from './service-kind';

export interface OriginRule {
  host: string;
  wildcard: boolean;
  port: string;
  service?: PushService;
}

export function parseAllowlist(entries: readonly string[]): OriginRule[] {
  return entries.map((e) => {
    const m = /^https:\/\/(\*\.)?([^/:=]+|\[[0-9a-f:]+\])(?::(\d+))?(?:=([a-z]+))?$/i.exec(e);
    const service = m?.[4]?.toLowerCase();
    if (!m || (service !== undefined && !isPushService(service))) throw new Error(`bad allowlist entry ${e}`);
    const rule: OriginRule = { wildcard: Boolean(m[1]), host: m[2].toLowerCase(), port: m[3] && m[3] !== '443' ? m[3] : '' };
    if (service !== undefined) rule.service = service;
    return rule;
  });
}

/** Null when the endpoint is acceptable, else the reason it is refused. */
export function endpointProblem(endpoint: string, rules: readonly OriginRule[]): string | null {
  const checked = checkEndpoint(endpoint, rules);
  return 'problem' in checked ? checked.problem : null;
}

/** The parsed URL when the endpoint is acceptable (the sender needs it anyway), else the reason. */
export function checkEndpoint(endpoint: string, rules: readonly OriginRule[]): { url: URL } | { problem: string } {
  if (endpoint.length > 1024) return { problem: 'is longer than 1024 characters' };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { problem: 'is not a URL' };
  }
  if (url.protocol !== 'https:') return { problem: 'must use https' };
  if (url.username || url.password) return { problem: 'must not contain credentials' };
  if (url.hash) return { problem: 'must not contain a fragment' };
  const host = url.hostname.toLowerCase();
  const ok = rules.some((r) => {
    if (r.port !== url.port) return false;
    if (r.wildcard) return host.endsWith(`.${r.host}`) && !host.slice(0, -r.host.length - 1).includes('..');
    return host === r.host;
  });
  if (!ok) return { problem: 'is not on the push-service allowlist' };
  return { url };
}

// The hosts the browsers' push services actually use (Chrome and Edge's FCM, Firefox, Safari).
// A wildcard entry admits any name under it, so a stranger can invent one per request; only these
// and the allowlist's exact entries are "named": they may take a shared endpoint-base code and be
// connected to at start-up. Windows' own WNS shards (wns2-par02p.notify.windows.com, ...) are too
// many to list: a newsroom that wants codes for some names them as exact allowlist entries.
export const KNOWN_PUSH_HOSTS: readonly string[] = ['fcm.googleapis.com', 'updates.push.services.mozilla.com', 'web.push.apple.com'];

/** Whether an allowed origin (`https://host[:port]`, as URL.origin writes it) is named, not merely matched by a wildcard. */
export function namedOrigins(rules: readonly OriginRule[]): (origin: string) => boolean {
  const named = new Set(rules.filter((r) => !r.wildcard).map((r) => `https://${r.host}${r.port ? `:${r.port}` : ''}`));
  for (const host of KNOWN_PUSH_HOSTS) if (endpointProblem(`https://${host}/`, rules) === null) named.add(`https://${host}`);
  return (origin) => named.has(origin.toLowerCase());
}
