// Mail that comes back: delivery-status reports and feedback-loop complaints built the way mail
// servers and mailbox providers build them, and a raw SMTP client on a loopback socket that
// speaks to the inbound listener command by command (so a refusal at RCPT shows as one).
import { connect, type Socket } from 'node:net';
import { within } from './wait';

const CRLF = '\r\n';

/** An RFC 3464 bounce as Postfix writes it: explanation, delivery status, the returned headers. */
export function dsn(o: { recipient: string; status: string; action?: string; originalMessageId: string; verp: string }): string {
  const b = '4F1C2A7E3B.1732600000/mx.exemple.fr';
  const code = o.status.startsWith('5') ? '550' : '452';
  return [
    'Return-Path: <>',
    `Date: ${new Date().toUTCString()}`,
    'From: MAILER-DAEMON@mx.exemple.fr (Mail Delivery System)',
    'Subject: Undelivered Mail Returned to Sender',
    `To: ${o.verp}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF}\tboundary="${b}"`,
    'Content-Transfer-Encoding: 8bit',
    `Message-Id: <20241126.4F1C2A7E3B@mx.exemple.fr>`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${b}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.exemple.fr.',
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients.',
    '',
    `<${o.recipient}>: host mail.exemple.fr[192.0.2.10] said: ${code} ${o.status} mailbox problem`,
    '',
    `--${b}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.exemple.fr',
    'X-Postfix-Queue-ID: 4F1C2A7E3B',
    `X-Postfix-Sender: rfc822; ${o.verp}`,
    `Arrival-Date: ${new Date().toUTCString()}`,
    '',
    `Final-Recipient: rfc822; ${o.recipient}`,
    `Original-Recipient: rfc822;${o.recipient}`,
    `Action: ${o.action ?? 'failed'}`,
    `Status: ${o.status}`,
    'Remote-MTA: dns; mail.exemple.fr',
    `Diagnostic-Code: smtp; ${code} ${o.status} mailbox problem`,
    '',
    `--${b}`,
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    `Return-Path: <${o.verp}>`,
    'From: =?UTF-8?Q?d=C3=A9p=C3=AAche?= <alertes@depeche.example>',
    `To: ${o.recipient}`,
    `Message-ID: ${o.originalMessageId}`,
    'Subject: Alerte',
    '',
    `--${b}--`,
    '',
  ].join(CRLF);
}

/** An RFC 5965 ARF complaint as a feedback loop (Yahoo, AOL, Microsoft JMRP…) sends it. */
export function arf(o: { recipient: string; verp: string; originalMessageId: string }): string {
  const b = 'fbl_part_boundary_7c1d';
  return [
    'From: feedback@fbl.exemple-mail.fr',
    `To: ${o.verp}`,
    'Subject: FW: Alerte',
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This is an email abuse report for an email message received from IP',
    '192.0.2.25 on Tue, 26 Nov 2024 08:00:00 +0000.',
    '',
    `--${b}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: ExempleFBL/1.0',
    'Version: 1',
    `Original-Mail-From: <${o.verp}>`,
    `Original-Rcpt-To: <${o.recipient}>`,
    'Arrival-Date: Tue, 26 Nov 2024 08:00:00 +0000',
    'Reporting-MTA: dns; fbl.exemple-mail.fr',
    'Source-IP: 192.0.2.25',
    '',
    `--${b}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    `Return-Path: <${o.verp}>`,
    'From: alertes@depeche.example',
    `To: ${o.recipient}`,
    `Message-ID: ${o.originalMessageId}`,
    'Subject: Alerte',
    '',
    'Le texte de l’alerte.',
    '',
    `--${b}--`,
    '',
  ].join(CRLF);
}

/** One reply of the server: its code and text (the last line of a multi-line reply). */
export interface Reply {
  code: number;
  text: string;
}

/** A plain SMTP client: each call sends one command and resolves with the server's reply. */
export class SmtpClient {
  private buffer = '';
  private waiting: ((r: Reply) => void)[] = [];
  private replies: Reply[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, i).replace(/\r$/, '');
        this.buffer = this.buffer.slice(i + 1);
        if (/^\d{3} /.test(line)) this.push({ code: Number(line.slice(0, 3)), text: line.slice(4) });
      }
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<{ client: SmtpClient; greeting: Reply }> {
    const socket = connect(port, '127.0.0.1');
    const client = new SmtpClient(socket);
    const greeting = await client.next();
    return { client, greeting };
  }

  private push(r: Reply) {
    const w = this.waiting.shift();
    if (w) w(r);
    else this.replies.push(r);
  }

  private next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    return within(new Promise<Reply>((resolve) => this.waiting.push(resolve)), 5000, 'an SMTP reply');
  }

  send(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.next();
  }

  /** DATA, the message (dot-stuffed), and the final dot: the reply to the message itself. */
  async data(message: string): Promise<Reply> {
    const go = await this.send('DATA');
    if (go.code !== 354) return go;
    const body = message.replace(/\r?\n/g, CRLF).replace(/^\./gm, '..');
    this.socket.write(`${body}${body.endsWith(CRLF) ? '' : CRLF}.\r\n`);
    return this.next();
  }

  /** QUIT without waiting for the goodbye, then close. */
  close(): void {
    this.socket.end('QUIT\r\n');
  }
}

/** A whole delivery, as the receiving MTA of a bounce would make it: null sender, one recipient. */
export async function deliverReport(port: number, to: string, message: string): Promise<{ rcpt: Reply; data?: Reply }> {
  const { client } = await SmtpClient.open(port);
  try {
    await client.send('EHLO mx.exemple.fr');
    await client.send('MAIL FROM:<>');
    const rcpt = await client.send(`RCPT TO:<${to}>`);
    if (rcpt.code !== 250) return { rcpt };
    return { rcpt, data: await client.data(message) };
  } finally {
    client.close();
  }
}
