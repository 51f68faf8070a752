// Push endpoints are URLs strangers give us. We accept, and ever connect to, only https URLs
// whose origin is on the push-service allowlist: exact hosts, or "*.domain" for services that
// shard by subdomain. The default port 443 is the only one allowed unless an entry names a port.
export interface OriginRule { host: string; wildcard: boolean; port: string }

export function parseAllowlist(entries: readonly string[]): OriginRule[] {
  return entries.map((e) => {
    const m = /^https:\/\/(\*\.)?([^/:]+|\[[0-9a-f:]+\])(?::(\d+))?$/i.exec(e);
    if (!m) throw new Error(`bad allowlist entry ${e}`);
    return { wildcard: Boolean(m[1]), host: m[2]!.toLowerCase(), port: m[3] && m[3] !== '443' ? m[3] : '' };
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
  try { url = new URL(endpoint); } catch { return { problem: 'is not a URL' }; }
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
