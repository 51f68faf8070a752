// Names under .localhost are loopback (RFC 6761 §6.3), as browsers resolve them, but this
// machine's resolver does not know them (and asking a DNS server would leave loopback). Importing
// this module makes node resolve them to 127.0.0.1 in this test process, so a push service can
// be reached under invented host names (`https://<anything>.push.localhost:<port>`), the way a
// wildcard allowlist entry lets strangers invent them.
import dns from 'node:dns';

export const LOOPBACK_WILDCARD_DOMAIN = 'push.localhost';

type Lookup = (hostname: string, ...rest: unknown[]) => void;
const original = dns.lookup as unknown as Lookup;
const lookup: Lookup = (hostname, ...rest) => {
  const name = hostname.toLowerCase();
  original.call(dns, name === 'localhost' || name.endsWith('.localhost') ? '127.0.0.1' : hostname, ...rest);
};
// net and tls read dns.lookup when they connect, so replacing the property is enough.
Object.defineProperty(dns, 'lookup', { value: lookup, configurable: true, writable: true });
