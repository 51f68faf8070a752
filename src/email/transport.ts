// The SMTP side: a pooled nodemailer transport, or, with no SMTP_URL, an outbox folder of .eml
// files (development), so that no message is ever silently dropped.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../log';

export interface OutgoingMail {
  to: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  messageId: string;
}

export interface MailTransport {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

export function createMailTransport(opts: { smtpUrl?: string; poolSize: number; from: string; dataDir: string }, log: Logger): MailTransport {
  if (opts.smtpUrl) {
    const t = nodemailer.createTransport({ url: opts.smtpUrl, pool: true, maxConnections: opts.poolSize, maxMessages: Infinity } as Parameters<typeof nodemailer.createTransport>[0]);
    return {
      send: async (m) => { await t.sendMail({ from: opts.from, ...m }); },
      close: () => t.close(),
    };
  }
  const outbox = join(opts.dataDir, 'outbox');
  mkdirSync(outbox, { recursive: true });
  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    send: async (m) => {
      const info = await stream.sendMail({ from: opts.from, ...m });
      const file = join(outbox, `${Date.now()}-${m.messageId.replace(/[^a-z0-9.-]/gi, '_')}.eml`);
      writeFileSync(file, info.message as Buffer);
      log.info({ file }, 'no SMTP_URL: message written to the outbox');
    },
    close: () => stream.close(),
  };
}
