// Where a webhook may go: https, on a public address. The name is resolved here and every address
// it resolves to is checked (private, loopback, link-local, unique-local, CGNAT, multicast,
// reserved, and IPv6 forms that embed an IPv4 address are refused); the delivery then connects to
// the very address that was checked, so a DNS answer that changes between the check and the
// connection (DNS rebinding) cannot point us at the newsroom's own network.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DomainError } from '../errors';

export interface Target {
  url: URL;
  /** The checked address to connect to. */
  address: string;
  /** Host name for SNI, certificate check and Host header; undefined for an IP literal. */
  servername?: string;
}

const refuse = (code: string, message: string, details?: unknown) => new DomainError('invalid', code, message, details);

/** Only globally routable unicast: ipaddr.js names every special range, and those are all refused. */
export function isPublicAddress(address: string): boolean {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return false;
  }
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  return ip.range() === 'unicast';
}

/** Shape checks that need no network: https, a host, no credentials. */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('invalid_input', 'url: is not a valid URL');
  }
  if (url.protocol !== 'https:') throw refuse('webhook_not_https', 'url: webhooks are only sent over https');
  if (url.username || url.password) throw refuse('invalid_input', 'url: must not carry a user name or password');
  if (url.hash) throw refuse('invalid_input', 'url: must not have a #fragment');
  return url;
}

/** Resolves and checks a target; `allowPrivate` (WEBHOOK_ALLOW_PRIVATE) skips the address check only. */
export async function resolveTarget(raw: string, allowPrivate: boolean): Promise<Target> {
  const url = parseTargetUrl(raw);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw refuse('webhook_unresolvable', `url: the host ${host} does not resolve`, { host });
    }
  }
  if (addresses.length === 0) throw refuse('webhook_unresolvable', `url: the host ${host} does not resolve`, { host });
  // Every address must be public: otherwise which one we used would decide whether the check held.
  const refused = addresses.find((a) => !isPublicAddress(a));
  if (refused !== undefined && !allowPrivate)
    throw refuse(
      'webhook_private_address',
      `url: ${host} resolves to ${refused}, a private, loopback or link-local address; webhooks only go to public addresses`,
      { host, address: refused },
    );
  return { url, address: addresses[0], ...(isIP(host) ? {} : { servername: host }) };
}
