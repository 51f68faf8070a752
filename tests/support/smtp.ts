import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerError, type SMTPServerOptions } from 'smtp-server';
import { CountWaiter, within } from './wait';

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO): who actually got this copy, Bcc included. */
  to: string[];
  /** Decoded From header, e.g. `Dépêche <alertes@example.test>`. */
  fromHeader: string;
  subject: string;
  text: string;
  html: string;
  /** Lowercased header name → raw, unfolded value of its first occurrence. */
  headers: Record<string, string>;
  /** Every header line in order, for repeated headers. */
  headerLines: Array<{ key: string; value: string }>;
  raw: string;
  receivedAt: number;
}

export interface SmtpRefusal {
  stage: 'MAIL' | 'RCPT' | 'DATA';
  code: number;
  address?: string;
}

export interface SmtpSinkOptions {
  /** Reject messages larger than this with 552 (0 = unlimited). */
  size?: number;
}

function smtpError(code: number, message: string): SMTPServerError {
  const err: SMTPServerError = new Error(message);
  err.responseCode = code;
  return err;
}

function unfold(line: string): string {
  // RFC 5322 §2.2.3: unfolding removes the CRLF before continuation whitespace, nothing else.
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n(?=[ \t])/g, '')
    .trim();
}

export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  /** Commands this sink refused because of a fault mode. */
  readonly refusals: SmtpRefusal[] = [];
  port = 0;
  private server: SMTPServer | null = null;
  private readonly rcptRejects = new Map<string, { code: number; message: string }>();
  private tempFail = false;
  private replyDelayMs = 0;
  private readonly waiter = new CountWaiter('smtp sink messages', () => this.messages.length);

  constructor(private readonly opts: SmtpSinkOptions = {}) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<void> {
    const server = new SMTPServer(this.serverOptions());
    // Without a listener, a client dropping mid-session would crash the test process.
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
  }

  waitFor(n: number, timeoutMs = 5000): Promise<void> {
    return this.waiter.wait(n, timeoutMs);
  }

  /** Hard-bounce RCPT TO for this address until reset(). */
  setRcptReject(address: string, code = 550, message = '5.1.1 Mailbox unavailable'): void {
    this.rcptRejects.set(address.toLowerCase(), { code, message });
  }

  /** While on, MAIL FROM and DATA get 451 (transient failure). */
  setTempFail(on: boolean): void {
    this.tempFail = on;
  }

  /**
   * While above 0, each message is kept as soon as its DATA is in, and the 250 comes this much
   * later: a slow server, and a window in which the sender dies after the server took the message.
   */
  setReplyDelay(ms: number): void {
    this.replyDelayMs = ms;
  }

  /** Stop listening and drop open connections, as if the server went down. */
  async pause(): Promise<void> {
    await this.shutdown();
  }

  /** Listen again on the same port. */
  async resume(): Promise<void> {
    if (!this.server) await this.listen(this.port);
  }

  /** Forget messages and fault modes. */
  reset(): void {
    this.messages.length = 0;
    this.refusals.length = 0;
    this.rcptRejects.clear();
    this.tempFail = false;
    this.replyDelayMs = 0;
  }

  async close(): Promise<void> {
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // smtp-server would otherwise wait closeTimeout for idle pooled clients.
    for (const connection of server.connections) connection.close();
    await within(closed, 10_000, 'SMTP sink to close');
  }

  private serverOptions(): SMTPServerOptions {
    return {
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      size: this.opts.size,
      closeTimeout: 200,
      onMailFrom: (address, _session, cb) => {
        if (!this.tempFail) return cb();
        this.refusals.push({ stage: 'MAIL', code: 451, address: address.address });
        cb(smtpError(451, '4.3.0 Temporary failure, try again later'));
      },
      onRcptTo: (address, _session, cb) => {
        const reject = this.rcptRejects.get(address.address.toLowerCase());
        if (!reject) return cb();
        this.refusals.push({ stage: 'RCPT', code: reject.code, address: address.address });
        cb(smtpError(reject.code, reject.message));
      },
      onData: (stream, session, cb) => {
        this.receive(stream, session.envelope.mailFrom, session.envelope.rcptTo).then(
          () => cb(),
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
        );
      },
    };
  }

  private async receive(
    stream: SMTPServerDataStream,
    mailFrom: { address: string } | false,
    rcptTo: Array<{ address: string }>,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    // The whole DATA stream must be drained before answering, even when refusing it.
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if (this.tempFail) {
      this.refusals.push({ stage: 'DATA', code: 451 });
      throw smtpError(451, '4.3.0 Temporary failure, try again later');
    }
    if (stream.sizeExceeded) throw smtpError(552, '5.3.4 Message too big');
    const raw = Buffer.concat(chunks);
    const parsed = await simpleParser(raw);
    const headerLines = parsed.headerLines.map((h) => ({ key: h.key, value: unfold(h.line) }));
    const headers: Record<string, string> = {};
    for (const h of headerLines) if (!(h.key in headers)) headers[h.key] = h.value;
    this.messages.push({
      from: mailFrom ? mailFrom.address : '',
      to: rcptTo.map((r) => r.address),
      fromHeader: parsed.from?.text ?? '',
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: parsed.html || '',
      headers,
      headerLines,
      raw: raw.toString('utf8'),
      receivedAt: Date.now(),
    });
    this.waiter.notify();
    if (this.replyDelayMs > 0) await new Promise((r) => setTimeout(r, this.replyDelayMs));
  }
}

export async function startSmtpServer(opts?: SmtpSinkOptions): Promise<SmtpSink> {
  const sink = new SmtpSink(opts);
  await sink.listen();
  return sink;
}
