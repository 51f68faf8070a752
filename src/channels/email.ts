// Hop 5, email: the alert is rendered once per alert (cached), each recipient gets its own
// signed unsubscribe and preference links, and the SMTP answer decides the outcome.
import { randomUUID } from 'node:crypto';
import type { Alert } from '../store/alerts';
import type { EmailSubscribers } from '../store/email-subscribers';
import type { CompiledEmail, Renderer } from '../email/render';
import type { MailTransport } from '../email/transport';
import type { TokenSigner } from '../tokens';
import type { DeliveryChannel, SendOutcome } from '../../workers/deliver';

export interface EmailLinks { unsubscribe: string; preferences: string }

export function emailLinks(baseUrl: string, tokens: TokenSigner, id: number): EmailLinks {
  return {
    unsubscribe: `${baseUrl}/api/subscriptions/email/unsubscribe?token=${tokens.sign('unsubscribe', id)}`,
    preferences: `${baseUrl}/api/subscriptions/email/preferences?token=${tokens.sign('prefs', id)}`,
  };
}

/** SMTP errors carry the server's reply code; 5xx is permanent, anything else may pass later. */
export function classifySmtpError(err: unknown): SendOutcome {
  const e = err as { responseCode?: number; code?: string; message?: string };
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) return { kind: 'failed', reason: `smtp ${e.responseCode}` };
  return { kind: 'retry', reason: e.responseCode ? `smtp ${e.responseCode}` : (e.code ?? 'smtp error') };
}

export class EmailChannel implements DeliveryChannel {
  readonly name = 'email' as const;
  private readonly compiled = new Map<string, CompiledEmail>();

  constructor(
    private readonly subscribers: EmailSubscribers,
    private readonly renderer: Renderer,
    private readonly transport: MailTransport,
    private readonly tokens: TokenSigner,
    private readonly opts: { baseUrl: string; concurrency: number; messageIdDomain: string },
  ) {}

  get concurrency(): number { return this.opts.concurrency; }

  async prepare(alert: Alert, ids: readonly number[]): Promise<Map<number, () => Promise<SendOutcome>>> {
    const email = this.compile(alert);
    const subs = await this.subscribers.getMany(ids);
    const out = new Map<number, () => Promise<SendOutcome>>();
    for (const [id, sub] of subs) {
      // Re-checked at send time: someone who unsubscribed after publishing gets nothing.
      if (sub.status !== 'confirmed') continue;
      out.set(id, async () => {
        const links = emailLinks(this.opts.baseUrl, this.tokens, id);
        const { html, text } = email.forRecipient(links);
        try {
          await this.transport.send({
            to: sub.email,
            subject: email.subject,
            html,
            text,
            messageId: `<${alert.id}.${alert.rev}.${id}.${randomUUID().slice(0, 8)}@${this.opts.messageIdDomain}>`,
            headers: {
              'List-Unsubscribe': `<${links.unsubscribe}>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            },
          });
          return { kind: 'sent' };
        } catch (err) {
          return classifySmtpError(err);
        }
      });
    }
    return out;
  }

  private compile(alert: Alert): CompiledEmail {
    const key = `${alert.id}-${alert.rev}`;
    let c = this.compiled.get(key);
    if (!c) {
      c = this.renderer.alertEmail(alert);
      this.compiled.set(key, c);
      // A worker sees few alerts at once; keep only the most recent ones.
      if (this.compiled.size > 32) this.compiled.delete(this.compiled.keys().next().value!);
    }
    return c;
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
