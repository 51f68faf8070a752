// Signed tokens for links in emails. A token names its purpose and subscriber, and may expire;
// the HMAC makes it unforgeable and purpose-bound (an unsubscribe token cannot confirm).
// A confirmation token also carries the record's status version at signing, so a link mailed
// before the record's last change of status (a confirm, an unsubscribe, a bounce) cannot replay.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenPurpose = 'confirm' | 'unsubscribe' | 'prefs';
const CODES: Record<TokenPurpose, string> = { confirm: 'c', unsubscribe: 'u', prefs: 'p' };

/** receipt: a push's receipt, posted by the service worker; click: an email's article link. */
export type DeliveryPurpose = 'receipt' | 'click';
const DELIVERY_CODES: Record<DeliveryPurpose, string> = { receipt: 'r', click: 'k' };
/** The longest delivery token: a 40-character alert id, a 4-digit revision, an 8-digit id, the MAC. */
export const DELIVERY_TOKEN_MAX = 40 + 1 + 4 + 1 + 8 + 1 + 14;

export interface DeliveryRef {
  alertId: string;
  rev: number;
  subscriberId: number;
}

export interface VerifiedToken {
  id: number;
  /** The status version signed into the token; absent in tokens signed without one. */
  version?: number;
}

/** One alert email: which alert, which revision, which subscriber. */
export interface MessageRef {
  alertId: string;
  rev: number;
  subscriberId: number;
}

export class TokenSigner {
  constructor(private readonly secret: string) {}

  sign(purpose: TokenPurpose, subscriberId: number, ttlSeconds?: number, version?: number): string {
    const exp = ttlSeconds ? Math.floor(Date.now() / 1000) + ttlSeconds : 0;
    const fields = [CODES[purpose], subscriberId.toString(36), exp.toString(36)];
    if (version !== undefined) fields.push(version.toString(36));
    const body = fields.join('.');
    return `${body}.${this.mac(body)}`;
  }

  /** The subscriber id (and version), or an error code when the token is malformed, forged or expired. */
  verify(purpose: TokenPurpose, token: string): VerifiedToken | { error: 'invalid' | 'expired' } {
    const parts = token.split('.');
    if (parts.length !== 4 && parts.length !== 5) return { error: 'invalid' };
    const mac = parts.pop()!;
    const expected = Buffer.from(this.mac(parts.join('.')));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'invalid' };
    const [code, id36, exp36, version36] = parts as [string, string, string, string | undefined];
    if (code !== CODES[purpose]) return { error: 'invalid' };
    const exp = parseInt(exp36, 36);
    if (exp !== 0 && exp < Date.now() / 1000) return { error: 'expired' };
    const id = parseInt(id36, 36);
    if (!Number.isSafeInteger(id) || id <= 0) return { error: 'invalid' };
    if (version36 === undefined) return { id };
    const version = parseInt(version36, 36);
    return Number.isSafeInteger(version) && version >= 0 ? { id, version } : { error: 'invalid' };
  }

  /**
   * The VERP token of one alert email: `<alert>.<rev>.<subscriber>.<mac>`, lowercase letters,
   * digits and dots only (some mail servers fold the case of local parts), about 45 characters.
   * The mac is 80 bits of HMAC under its own label, so no link token can pass for one.
   */
  signVerp(ref: MessageRef): string {
    const body = `${ref.alertId}.${ref.rev.toString(36)}.${ref.subscriberId.toString(36)}`;
    return `${body}.${this.verpMac(body)}`;
  }

  /** The message a VERP token names, or null when it is malformed or forged. */
  verifyVerp(token: string): MessageRef | null {
    const m = /^([a-z0-9]{1,24})\.([a-z0-9]{1,6})\.([a-z0-9]{1,11})\.([0-9a-f]{20})$/.exec(token.toLowerCase());
    if (!m) return null;
    const [, alertId, rev36, sub36, mac] = m as unknown as [string, string, string, string, string];
    const expected = Buffer.from(this.verpMac(`${alertId}.${rev36}.${sub36}`));
    if (!timingSafeEqual(Buffer.from(mac), expected)) return null;
    const rev = parseInt(rev36, 36);
    const subscriberId = parseInt(sub36, 36);
    if (!Number.isSafeInteger(subscriberId) || subscriberId <= 0 || rev <= 0) return null;
    return { alertId, rev, subscriberId };
  }

  private verpMac(body: string): string {
    return createHmac('sha256', this.secret).update(`verp:${body}`).digest().subarray(0, 10).toString('hex');
  }

  /**
   * A token naming one recipient of one revision: the push receipt the service worker posts
   * back, or the email's article link. `<alert>.<rev>.<subscriber>.<mac>`, about 40 characters:
   * 80 bits of HMAC are plenty for a figure (a forger gains one bit in a bitmap, at best).
   */
  signDelivery(purpose: DeliveryPurpose, alertId: string, rev: number, subscriberId: number): string {
    const body = `${alertId}.${rev.toString(36)}.${subscriberId.toString(36)}`;
    return `${body}.${this.deliveryMac(purpose, body)}`;
  }

  verifyDelivery(purpose: DeliveryPurpose, token: string): DeliveryRef | null {
    if (token.length > DELIVERY_TOKEN_MAX) return null;
    const m = /^([a-z0-9]{8,40})\.([0-9a-z]{1,4})\.([0-9a-z]{1,8})\.([A-Za-z0-9_-]{14})$/.exec(token);
    if (!m) return null;
    const [, alertId, rev36, id36, mac] = m as unknown as [string, string, string, string, string];
    const expected = Buffer.from(this.deliveryMac(purpose, `${alertId}.${rev36}.${id36}`));
    if (!timingSafeEqual(Buffer.from(mac), expected)) return null;
    const rev = parseInt(rev36, 36);
    const subscriberId = parseInt(id36, 36);
    return rev > 0 && subscriberId > 0 ? { alertId, rev, subscriberId } : null;
  }

  private deliveryMac(purpose: DeliveryPurpose, body: string): string {
    return createHmac('sha256', this.secret).update(`${DELIVERY_CODES[purpose]}.${body}`).digest().subarray(0, 10).toString('base64url');
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16).toString('base64url');
  }
}
