// Signed tokens for links in emails. A token names its purpose and subscriber, and may expire;
// the HMAC makes it unforgeable and purpose-bound (an unsubscribe token cannot confirm).
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenPurpose = 'confirm' | 'unsubscribe' | 'prefs';
const CODES: Record<TokenPurpose, string> = { confirm: 'c', unsubscribe: 'u', prefs: 'p' };

export class TokenSigner {
  constructor(private readonly secret: string) {}

  sign(purpose: TokenPurpose, subscriberId: number, ttlSeconds?: number): string {
    const exp = ttlSeconds ? Math.floor(Date.now() / 1000) + ttlSeconds : 0;
    const body = `${CODES[purpose]}.${subscriberId.toString(36)}.${exp.toString(36)}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The subscriber id, or an error code when the token is malformed, forged or expired. */
  verify(purpose: TokenPurpose, token: string): { id: number } | { error: 'invalid' | 'expired' } {
    const parts = token.split('.');
    if (parts.length !== 4) return { error: 'invalid' };
    const [code, id36, exp36, mac] = parts as [string, string, string, string];
    const body = `${code}.${id36}.${exp36}`;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'invalid' };
    if (code !== CODES[purpose]) return { error: 'invalid' };
    const exp = parseInt(exp36, 36);
    if (exp !== 0 && exp < Date.now() / 1000) return { error: 'expired' };
    const id = parseInt(id36, 36);
    return Number.isSafeInteger(id) && id > 0 ? { id } : { error: 'invalid' };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16).toString('base64url');
  }
}
