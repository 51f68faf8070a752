// The SMTP side: a pooled nodemailer transport (optionally DKIM-signing), or, with no SMTP_URL, an
// outbox folder of .eml files (development), so that no message is ever silently dropped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { DkimConfig, EmailConfig } from '../config';
import type { Logger } from '../log';
import { parseSender } from './mime';
import { PRIVATE_FILE_MODE, privateDir } from '../data-dir';

/** A message nodemailer composes (transactional mail), or one compiled beforehand (alerts). */
export type OutgoingMail =
  | { to: string; subject: string; html: string; text: string; headers?: Record<string, string>; messageId: string }
  | { to: string; raw: string; messageId: string; /** VERP envelope sender; absent: MAIL_FROM's address. */ envelopeFrom?: string };

export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * Headers the DKIM signature covers. List-Unsubscribe-Post must be among them: RFC 8058 §4 lets
 * a mailbox provider offer one-click unsubscribe only when the signature covers both List- headers.
 */
export const DKIM_SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
].join(':');

function dkimOptions(dkim: DkimConfig) {
  return { domainName: dkim.domainName, keySelector: dkim.keySelector, privateKey: dkim.privateKey, headerFieldNames: DKIM_SIGNED_HEADERS };
}

export function createMailTransport(
  opts: Pick<EmailConfig, 'smtpUrl' | 'poolSize' | 'from' | 'timeoutMs' | 'dkim'> & { dataDir: string },
  log: Logger,
): MailTransport {
  const dkim = opts.dkim ? dkimOptions(opts.dkim) : undefined;
  const sender = parseSender(opts.from).address;
  // A raw message carries its own headers; nodemailer only needs the envelope.
  const message = (m: OutgoingMail) =>
    'raw' in m ? { envelope: { from: m.envelopeFrom ?? sender, to: [m.to] }, raw: m.raw } : { from: opts.from, date: new Date(), ...m };
  if (opts.smtpUrl) {
    const t = nodemailer.createTransport({
      url: opts.smtpUrl,
      pool: true,
      maxConnections: opts.poolSize,
      maxMessages: Infinity,
      // A server that accepts the connection and then hangs must fail the send (and so be
      // retried), not hold a pool connection for nodemailer's default of minutes.
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      dkim,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return {
      send: async (m) => {
        await t.sendMail(message(m));
      },
      close: () => t.close(),
    };
  }
  // Mails name their recipients: readable by the service's user only.
  const outbox = privateDir(join(opts.dataDir, 'outbox'));
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix', dkim });
  return {
    send: async (m) => {
      const info = await stream.sendMail(message(m));
      const file = join(outbox, `${Date.now()}-${m.messageId.replace(/[^a-z0-9.-]/gi, '_')}.eml`);
      writeFileSync(file, info.message as Buffer, { mode: PRIVATE_FILE_MODE });
      log.info({ file }, 'no SMTP_URL: message written to the outbox');
    },
    close: () => stream.close(),
  };
}
