// What the pages behind our emails' links share: reading the signed token, answering a person
// (HTML) or a program (JSON), and saying clearly, in the reader's language, why a link fails.
import type { Request, Response } from 'express';
import type { Domain } from '../services';
import { ApiError } from './errors';
import type { TokenPurpose, VerifiedToken } from '../tokens';
import type { Renderer } from '../email/render';

export function linkToken(req: Request): string {
  return typeof req.query.token === 'string' ? req.query.token : '';
}

/** The subscriber id a link's token names; 400 when forged or malformed, 410 when expired. */
export function tokenFrom(d: Domain, purpose: TokenPurpose, req: Request): number {
  return verifiedToken(d, purpose, req).id;
}

/** The whole verified token (id and, for a confirmation, the status version it was signed with). */
export function verifiedToken(d: Domain, purpose: TokenPurpose, req: Request): VerifiedToken {
  const v = d.tokens.verify(purpose, linkToken(req));
  if ('error' in v) throw v.error === 'expired' ? linkExpired() : new ApiError(400, 'invalid_token', 'this link is invalid');
  return v;
}

/**
 * An expired link, or one that no longer applies (signed before the subscription last changed):
 * to the reader both mean the same thing, and the fix is the same, ask again.
 */
export const linkExpired = () => new ApiError(410, 'token_expired', 'this link has expired; ask for a new one');

const GONE = 'subscription not found';
export const subscriptionGone = () => new ApiError(404, 'not_found', GONE);

/** A browser (form post or link) rather than an API client or a mailbox provider's one-click POST. */
export function wantsHtml(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

/** Pages with a token in their URL: never cached, never leaked through a Referer. */
export function privatePage(res: Response): Response {
  return res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }).type('html');
}

/**
 * The renderer of the reader a link names; also remembered for the error page, should the link
 * then be refused (a spent confirmation link reads in the reader's language too).
 */
export async function readerRenderer(d: Domain, res: Response, id: number): Promise<Renderer> {
  const r = d.renderer.in(await d.emailSubscribers.langOf(id));
  res.locals.lang = r.lang;
  return r;
}

/** The HTML body for an error met by a person following a link (`lang`: the reader's, when known). */
export function errorPage(d: Domain, e: ApiError, lang?: string): string {
  const r = d.renderer.in(lang);
  if (e.status === 410) return r.page('message', { title: r.t('expiredLinkTitle'), text: r.t('expiredLinkText') });
  if (e.code === 'invalid_token') return r.page('message', { title: r.t('invalidLinkTitle'), text: r.t('invalidLinkText') });
  if (e.status === 404 && e.message === GONE) return r.page('message', { title: r.t('goneTitle'), text: r.t('goneText') });
  return r.page('message', { title: String(e.status), text: e.message });
}
