// The VAPID subject (RFC 8292 §2.1) is how a push service reaches whoever sends: Apple refuses
// every push (403 BadJwtToken) whose subject is malformed or names localhost, and says so only at
// the first alert. Checked at start instead, with one line that says why.
import { isIP } from 'node:net';

// A host name a push service could believe in: dotted labels, a letter-only TLD, no localhost.
const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

function hostProblem(host: string): string | null {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local')) return `names the local host "${h}"`;
  if (isIP(h)) return `names an IP address (${h}) instead of a domain`;
  if (!HOST.test(h)) return `has no real-looking domain ("${h}")`;
  return null;
}

/** Null when the subject is one Apple accepts, else what is wrong with it. */
export function vapidSubjectProblem(subject: string): string | null {
  if (subject.startsWith('mailto:')) {
    const address = subject.slice('mailto:'.length);
    const m = /^([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+)@([^@\s]+)$/.exec(address);
    if (!m || m[1].startsWith('.') || m[1].endsWith('.') || m[1].includes('..')) return 'is not mailto: followed by one plain address';
    return hostProblem(m[2]);
  }
  if (subject.startsWith('https:')) {
    let url: URL;
    try {
      url = new URL(subject);
    } catch {
      return 'is not an absolute https: URL';
    }
    if (!subject.startsWith('https://') || url.username || url.password) return 'is not an absolute https: URL without credentials';
    return hostProblem(url.hostname);
  }
  return 'must start with mailto: or https:';
}

/** Throws the start-up line when the subject would be refused. */
export function checkVapidSubject(subject: string): void {
  const problem = vapidSubjectProblem(subject);
  if (problem) {
    throw new Error(
      `configuration: VAPID_SUBJECT ${problem}; Apple's push service would refuse every push (403 BadJwtToken): use mailto:someone@your-domain or https://your-site`,
    );
  }
}
