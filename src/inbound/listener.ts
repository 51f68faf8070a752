// The inbound SMTP listener of the bounce domain: it sits behind the domain's MX (or is the MX)
// and takes only mail to our own VERP addresses whose token we signed, so it can never relay and
// a stranger cannot make it do anything but refuse. Each accepted message is read as a DSN or an
// ARF complaint and handed to the same feedback handling as the providers' webhooks; what cannot
// be read is kept (capped) for a person to look at, and never stops the listener.
import type { AddressInfo } from 'node:net';
import { ipKeyGenerator } from 'express-rate-limit';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { BounceConfig } from '../config';
import type { Logger } from '../log';
import type { Keys } from '../store/keys';
import type { RedisClient } from '../store/redis';
import type { MessageRef, TokenSigner } from '../tokens';
import type { MailFeedback } from '../pipeline/feedback';
import { parseReport } from '../email/reports';
import type { Domain } from '../services';

/** Recipients per message: a real report goes to one VERP address. */
const MAX_RCPT = 5;
/** Unreadable messages kept, and how much of each. */
const KEEP_UNPARSED = 50;
const KEEP_BYTES = 64 * 1024;

export interface InboundDeps {
  bounce: Required<Pick<BounceConfig, 'domain'>> & Omit<BounceConfig, 'domain'>;
  tokens: TokenSigner;
  feedback: MailFeedback;
  redis: RedisClient;
  keys: Keys;
  log: Logger;
}

export interface InboundListener {
  port: number;
  close(): Promise<void>;
}

/** An SMTP refusal with its code (smtp-server reads `responseCode`). */
function refusal(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** `bounces+<token>@bounce.domain` → the message the token names, or null. */
export function verpRef(address: string, d: Pick<InboundDeps, 'bounce' | 'tokens'>): MessageRef | null {
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at).toLowerCase();
  if (address.slice(at + 1).toLowerCase() !== d.bounce.domain) return null;
  const prefix = `${d.bounce.local}+`;
  return local.startsWith(prefix) ? d.tokens.verifyVerp(local.slice(prefix.length)) : null;
}

// One counter per peer and minute, created with its expiry: a peer costs one small key at most.
const COUNT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], 60) end
return n`;

export async function startInbound(d: InboundDeps, host: string, port: number): Promise<InboundListener> {
  const { bounce, log } = d;

  const onMailFrom = (_a: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) => {
    const peer = ipKeyGenerator(session.remoteAddress, 56);
    const key = d.keys.inboundRate(`${peer}:${Math.floor(Date.now() / 60_000)}`);
    d.redis.eval(COUNT, 1, key).then(
      (n) => cb(Number(n) > bounce.ratePerMinute ? refusal(450, '4.7.1 Too many messages from your address, try again later') : null),
      () => cb(refusal(451, '4.3.0 Temporary failure, try again later')),
    );
  };

  const onRcptTo = (address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void) => {
    if (session.envelope.rcptTo.length >= MAX_RCPT) return cb(refusal(452, '4.5.3 Too many recipients'));
    // Anything but a VERP address we signed: no such mailbox (and never a relay).
    cb(verpRef(address.address, d) ? null : refusal(550, '5.1.1 No such mailbox here'));
  };

  const onData = (stream: SMTPServerDataStream, session: SMTPServerSession, cb: (err?: Error | null) => void) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= bounce.maxBytes) chunks.push(c);
    });
    stream.on('end', () => {
      // smtp-server keeps the accepted recipients per transaction (RSET clears them).
      const envelope = session.envelope.rcptTo.map((a) => verpRef(a.address, d)).filter((r): r is MessageRef => r !== null);
      if (stream.sizeExceeded) return cb(refusal(552, '5.3.4 Message too big'));
      const raw = Buffer.concat(chunks).toString('utf8');
      handle(d, raw, envelope, session.remoteAddress).then(
        () => cb(),
        (err: unknown) => {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'inbound: report not handled, sender asked to retry');
          cb(refusal(451, '4.3.0 Temporary failure, try again later'));
        },
      );
    });
  };

  const server = new SMTPServer({
    name: bounce.domain,
    banner: 'dépêche bounce handler',
    size: bounce.maxBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideSTARTTLS: true,
    // No reverse DNS per connection: nothing here depends on the peer's name, and a slow resolver
    // would hold every session.
    disableReverseLookup: true,
    maxClients: 64,
    socketTimeout: 30_000,
    closeTimeout: 5_000,
    onMailFrom,
    onRcptTo,
    onData,
  });
  // A peer dropping mid-session or speaking nonsense is logged, never fatal.
  server.on('error', (err) => log.debug({ err: err.message }, 'inbound: connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.server.address() as AddressInfo).port;
  log.info({ port: bound, domain: bounce.domain }, 'inbound SMTP listener for bounces and complaints');
  return { port: bound, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function handle(d: InboundDeps, raw: string, envelope: MessageRef[], peer: string): Promise<void> {
  let report: ReturnType<typeof parseReport>;
  try {
    report = parseReport(raw);
  } catch {
    report = null;
  }
  if (!report) {
    const kept = JSON.stringify({ at: new Date().toISOString(), peer, raw: raw.slice(0, KEEP_BYTES) });
    await d.redis
      .multi()
      .lpush(d.keys.inboundUnparsed, kept)
      .ltrim(d.keys.inboundUnparsed, 0, KEEP_UNPARSED - 1)
      .exec();
    d.log.warn({ bytes: raw.length }, 'inbound: message is not a report we can read; kept for inspection');
    return;
  }
  if (report.kind === 'none') return;
  const seen = new Set<string>();
  for (const ref of envelope) {
    const id = `${ref.alertId}.${ref.rev}.${ref.subscriberId}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const effect = await d.feedback.onMessage(ref, report.kind, 'smtp');
    d.log.info({ alert: ref.alertId, rev: ref.rev, reader: ref.subscriberId, report: report.kind, ...effect }, 'inbound report');
  }
}

/** The listener of one running service, on BOUNCE_SMTP_PORT (or `port`, for tests: 0 picks one). */
export function inboundFor(d: Domain, port = d.config.email.bounce.smtpPort ?? 0): Promise<InboundListener> {
  const b = d.config.email.bounce;
  if (!b.domain) throw new Error('the inbound listener needs BOUNCE_DOMAIN');
  return startInbound(
    { bounce: { ...b, domain: b.domain }, tokens: d.tokens, feedback: d.feedback, redis: d.redis, keys: d.keys, log: d.log },
    d.config.http.host,
    port,
  );
}
