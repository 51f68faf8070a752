// The signup box news sites embed on their article pages (/embed.js, README « On your site »),
// and, outside production, a made-up article showing it (/demo/article) so a newsroom sees the
// box working before touching its CMS.
import { join } from 'node:path';
import { Router } from 'express';
import { Eta } from 'eta';
import type { Domain } from '../../services';
import { TEMPLATES_DIR } from '../../email/render';

const PUBLIC_DIR = join(TEMPLATES_DIR, 'public');

/** The demo page is a news site's page that happens to live here: it loads the box by our public address. */
function demoCsp(publicBaseUrl: string): string {
  const ours = new URL(publicBaseUrl).origin;
  return [
    "default-src 'none'",
    `script-src 'self' ${ours}`,
    // The box's styles are a constructed stylesheet, which style-src does not govern.
    "style-src 'self'",
    `img-src 'self' ${ours}`,
    `connect-src 'self' ${ours}`,
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function embedRoutes(d: Domain): Router {
  const r = Router();

  r.get('/embed.js', (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Loaded by <script src> on other sites' pages: helmet's same-origin resource policy would block it.
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    // Cached briefly: every article page loads it, and a fix still reaches readers within minutes.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.sendFile('embed.js', { root: PUBLIC_DIR, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (err) => {
      if (err) next(err);
    });
  });

  if (d.config.page.demoArticle) {
    const eta = new Eta({ views: TEMPLATES_DIR, autoEscape: true, cache: true });
    const base = d.config.http.publicBaseUrl;
    const page = eta.render('pages/demo-article.eta', { base, topic: demoTopic(d.config.page.topics) });
    r.get('/demo/article', (_req, res) => {
      res.setHeader('Content-Security-Policy', demoCsp(base));
      res.setHeader('Cache-Control', 'no-cache');
      res.type('html').send(page);
    });
  }

  return r;
}

/** The demo story is a regional one: « Société » when the newsroom offers it, else its first topic. */
function demoTopic(topics: readonly { slug: string }[]): string {
  return topics.find((t) => t.slug === 'societe')?.slug ?? topics[0]?.slug ?? '';
}
