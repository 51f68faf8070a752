// The alert's whole MIME message, compiled once per alert with nodemailer's own encoders
// (quoted-printable, RFC 2047 encoded words, header folding). Per recipient only To, Message-ID,
// Date, List-Unsubscribe and the links inside both parts change, so a personalised message costs a
// few string concatenations instead of a full MIME build (measured: ~170 µs of CPU per message
// sent as raw against ~450 µs composed, see BENCHMARKS.md). nodemailer still sends it: pool, DKIM
// signing and SMTP dot-stuffing apply to raw messages as to any other.
import { randomBytes } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { encodeWord, encodeWords, foldLines } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import { escapeAttr, type CompiledEmail, type EmailLinks, type Personal } from './render';

const CRLF = '\r\n';
/** A quoted-printable soft line break: decoders remove it, so pieces can be joined anywhere. */
const SOFT = `=${CRLF}`;

/** Quoted-printable, every line at most 75 characters so one more "=" still fits in 76. */
function qp(s: string): string {
  return qpWrap(qpEncode(Buffer.from(s.replace(/\r?\n/g, CRLF), 'utf8')), 75);
}

/** A header value as nodemailer writes it: RFC 2047 words for non-ASCII, folded at 76. */
const header = (name: string, value: string) => `${foldLines(`${name}: ${encodeWords(value, 'Q', 52)}`, 76)}${CRLF}`;

/** A display name as an RFC 5322 phrase: atoms as they are, quoted if needed, encoded if not ASCII. */
function phrase(name: string): string {
  if (/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/.test(name)) return name;
  if (/^[\x20-\x7e]+$/.test(name)) return `"${name.replace(/(["\\])/g, '\\$1')}"`;
  return encodeWord(name, 'Q', 52);
}

/** `dépêche <alertes@depeche.example>` → the From header line and the envelope sender. */
export function parseSender(from: string): { line: string; address: string } {
  const [first] = addressparser(from, { flatten: true });
  if (!first?.address || /[^\x21-\x7e]/.test(first.address)) throw new Error('MAIL_FROM must hold one ASCII address');
  return {
    line: `${foldLines(`From: ${first.name ? `${phrase(first.name)} ` : ''}<${first.address}>`, 76)}${CRLF}`,
    address: first.address,
  };
}

/** RFC 5322 date in UTC. */
export const rfc5322Date = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');

export interface RecipientHeaders {
  to: string;
  messageId: string;
  links: EmailLinks;
}

export class AlertMime {
  private readonly before: string;
  private readonly list: boolean;
  private readonly after: string;
  private readonly boundary = `--_dp_${randomBytes(12).toString('hex')}`;
  private readonly html: Personal;
  private readonly text: Personal;

  /** Without `listId` (the internal test list) the message carries no List-* headers at all. */
  constructor(email: CompiledEmail, opts: { from: string; listId?: string }) {
    const b = this.boundary;
    this.before = parseSender(opts.from).line;
    this.list = opts.listId !== undefined;
    this.after =
      [
        this.list ? `${header('List-Id', opts.listId!)}List-Unsubscribe-Post: List-Unsubscribe=One-Click${CRLF}` : '',
        'MIME-Version: 1.0',
        CRLF,
        `Content-Type: multipart/alternative;${CRLF} boundary="${b}"${CRLF}`,
      ].join('') + header('Subject', email.subject);
    this.text = email.parts.text.map(qp);
    this.html = email.parts.html.map(qp);
  }

  /** The complete message for one recipient, ready for SMTP DATA. */
  forRecipient(r: RecipientHeaders, date = new Date()): string {
    // Stored addresses passed strict validation; this only keeps a header from ever being split.
    if (/[\s<>]/.test(r.to) || /[\r\n]/.test(r.messageId)) throw new Error('refusing a header value with a line break or angle bracket');
    const b = this.boundary;
    const part = (type: string) =>
      `--${b}${CRLF}Content-Type: ${type}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`;
    return (
      `${this.before}To: ${r.to}${CRLF}Message-ID: ${r.messageId}${CRLF}Date: ${rfc5322Date(date)}${CRLF}` +
      (this.list ? `List-Unsubscribe:${CRLF} <${r.links.unsubscribe}>${CRLF}` : '') +
      `${this.after}${CRLF}` +
      part('text/plain') +
      this.text.fill(r.links, (l) => SOFT + qp(l) + SOFT) +
      CRLF +
      part('text/html') +
      this.html.fill(r.links, (l) => SOFT + qp(escapeAttr(l)) + SOFT) +
      CRLF +
      `--${b}--${CRLF}`
    );
  }
}
