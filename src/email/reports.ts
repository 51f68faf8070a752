// Reads the two kinds of machine reports that come back to a VERP address: RFC 3464 delivery
// status notifications (multipart/report; report-type=delivery-status) and RFC 5965 ARF complaints
// (multipart/report; report-type=feedback-report). Only the report's own part is read: which
// message and which reader it is about comes from the VERP address it was sent to, never from
// the quoted original, which anyone can write.

/** What a report says. `hard`/`soft` are bounces; null fields: the report did not say. */
export type Report =
  | { kind: 'hard' | 'soft'; status: string }
  | { kind: 'complaint'; feedbackType: string }
  /** A well-formed report that asks nothing of us (delivered, relayed, or a delay notice with no code). */
  | { kind: 'none' };

const CRLF_SPLIT = /\r?\n/;

/** Header block → lowercased name → unfolded value (first occurrence). */
function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = block.replace(/\r?\n[ \t]+/g, ' ').split(CRLF_SPLIT);
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (!out.has(name)) out.set(name, line.slice(i + 1).trim());
  }
  return out;
}

/** `multipart/report; report-type=delivery-status; boundary="x"` → type and parameters. */
function contentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const [type = 'text/plain', ...rest] = (value ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const m = /^\s*([\w-]+)\s*=\s*(?:"([^"]*)"|([^\s;]+))/.exec(p);
    if (m) params.set(m[1].toLowerCase(), m[2] ?? m[3] ?? '');
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Splits a message (or a part) into its header block and body. */
function split(raw: string): { head: Map<string, string>; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: fields(raw), body: '' };
  return { head: fields(raw.slice(0, m.index)), body: raw.slice(m.index + m[0].length) };
}

/** The body parts of a multipart entity (the preamble and epilogue dropped). */
function parts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const chunks = body.split(new RegExp(`(?:^|\\r?\\n)${delimiter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const out: string[] = [];
  for (const c of chunks.slice(1)) {
    if (c.startsWith('--')) break; // the close delimiter
    out.push(c.replace(/^[ \t]*\r?\n/, ''));
  }
  return out;
}

function decode(body: string, encoding: string | undefined): string {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (e === 'quoted-printable')
    return body.replace(/=\r?\n/g, '').replace(/=([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return body;
}

/** An RFC 3464 body: the per-message block, then one block per recipient; the worst one wins. */
function deliveryStatus(text: string): Report | null {
  const blocks = text.split(/\r?\n\s*\r?\n/).filter((b) => b.trim() !== '');
  let worst: Report | null = null;
  for (const b of blocks.slice(1)) {
    const f = fields(b);
    const action = (f.get('action') ?? '').toLowerCase();
    const status = /^([245])\.\d{1,3}\.\d{1,3}/.exec(f.get('status') ?? '')?.[0];
    if (!action || !status) continue;
    if ((action === 'failed' || action === 'delayed') && status.startsWith('5')) {
      // 5.7.x is a refusal of our message (policy, reputation), not of the address: a
      // blocklisting would otherwise wipe a whole provider's readers. It counts as soft.
      return status.startsWith('5.7.') ? { kind: 'soft', status } : { kind: 'hard', status };
    }
    if ((action === 'failed' || action === 'delayed') && status.startsWith('4')) worst ??= { kind: 'soft', status };
  }
  if (worst) return worst;
  return blocks.length > 1 ? { kind: 'none' } : null;
}

/** Reads a report; null when the message is not one we can read (kept for a person to look at). */
export function parseReport(raw: string): Report | null {
  const { head, body } = split(raw);
  const ct = contentType(head.get('content-type'));
  const boundary = ct.params.get('boundary');
  if (ct.type !== 'multipart/report' || !boundary) return null;
  const want = ct.params.get('report-type')?.toLowerCase();
  for (const p of parts(body, boundary)) {
    const part = split(p);
    const type = contentType(part.head.get('content-type')).type;
    const text = decode(part.body, part.head.get('content-transfer-encoding'));
    // RFC 6533 global-delivery-status carries the same fields in UTF-8.
    if (want === 'delivery-status' && (type === 'message/delivery-status' || type === 'message/global-delivery-status')) {
      return deliveryStatus(text);
    }
    if (want === 'feedback-report' && type === 'message/feedback-report') {
      const f = fields(text);
      const feedbackType = (f.get('feedback-type') ?? '').toLowerCase();
      if (!feedbackType) return null;
      // abuse, fraud, virus, other all say « don't mail me »; not-spam does not.
      return feedbackType === 'not-spam' ? { kind: 'none' } : { kind: 'complaint', feedbackType };
    }
  }
  return null;
}
