// An alert's email as subscribers get it, for an editor's eyes: the real templates, with sample
// links in place of a reader's own (a preview must never carry a working unsubscribe token).
import type { Response } from 'express';
import type { Domain } from '../services';
import type { Alert } from '../model';

/**
 * The preview is a document of its own, shown in an iframe: inline styles (every email has
 * them) but nothing that runs, and `sandbox` gives it an opaque origin even if opened directly.
 */
export const EMAIL_PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; sandbox";

export function previewEmail(d: Domain, alert: Alert): { subject: string; html: string; text: string } {
  const base = `${d.config.http.publicBaseUrl}/api/subscriptions/email`;
  const email = d.renderer.alertEmail(alert);
  const { html, text } = email.forRecipient({
    unsubscribe: `${base}/unsubscribe?token=apercu`,
    preferences: `${base}/preferences?token=apercu`,
  });
  return { subject: email.subject, html, text };
}

export function sendPreviewHtml(res: Response, html: string): void {
  res.set({ 'Content-Security-Policy': EMAIL_PREVIEW_CSP, 'Cache-Control': 'no-store' }).type('html').send(html);
}
