// Email addresses: exactly one bare address (RFC 5321 dot-atom local part, no quotes, comments,
// display names or lists), no whitespace or control characters, within SMTP's length limits.
// Internationalised domains are welcome (sent as punycode); internationalised local parts are not,
// since they need SMTPUTF8 at every hop.
import { domainToASCII } from 'node:url';

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const UNICODE_LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The domain in ASCII (punycode), lowercased; null when it is not a usable internet domain. */
function asciiDomain(domain: string): string | null {
  if (domain.length > 253 || !domain.split('.').every((l) => UNICODE_LABEL.test(l))) return null;
  const ascii = domainToASCII(domain);
  const labels = ascii.split('.');
  if (ascii === '' || ascii.length > 253 || labels.length < 2 || !labels.every((l) => ASCII_LABEL.test(l))) return null;
  const tld = labels[labels.length - 1];
  // A numeric "TLD" means an IP address; domain literals ([192.0.2.1]) are refused above.
  return /^[a-z]{2,63}$|^xn--[a-z0-9-]{1,59}$/.test(tld) ? ascii : null;
}

/** Why a string is not an address we accept, or null when it is one. */
export function emailProblem(s: string): string | null {
  if (/[\r\n]/.test(s)) return 'must not contain line breaks';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(s)) return 'must not contain control characters';
  if (s.length > 254) return 'is too long (at most 254 characters)';
  if (/[,;]/.test(s) || (s.match(/@/g) ?? []).length > 1) return 'must be one address, not a list';
  if (/[<>"()[\]\\]/.test(s)) return 'must be a bare address, without display name, quotes or comments';
  if (/\s/u.test(s)) return 'must not contain spaces';
  const at = s.indexOf('@');
  if (at < 0) return 'must contain @';
  const local = s.slice(0, at);
  if (local.length === 0 || local.length > 64 || !LOCAL_PART.test(local))
    return "has an invalid part before @ (at most 64 letters, digits or !#$%&'*+/=?^_`{|}~-, dots between)";
  if (asciiDomain(s.slice(at + 1)) === null) return 'has an invalid domain after @';
  return null;
}

/** The form we send to and index by: local part as given, domain in lowercase ASCII (punycode). */
export function asciiAddress(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, at)}@${asciiDomain(email.slice(at + 1)) ?? email.slice(at + 1).toLowerCase()}`;
}
