// The reader's side, served by the app: the subscribe page, its static files, the service worker,
// and the click report the service worker sends when a notification is opened.
import { join } from 'node:path';
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { TEMPLATES_DIR } from '../../email/render';
import { notFound } from '../errors';

const PUBLIC_DIR = join(TEMPLATES_DIR, 'public');
const alertId = z.string().regex(/^[a-z0-9]{8,40}$/);

// Everything the page needs comes from our own origin, and no script is inline, so the policy
// can forbid everything else. The JSON data block holding the page's messages is not a script.
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function hardened(res: Response): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

export function readerRoutes(d: Domain): Router {
  const r = Router();
  // Rendered once: the page depends on configuration only.
  const page = d.renderer.subscribePage({ topics: d.config.page.topics });

  r.get('/', (_req, res) => {
    res.redirect(302, '/alertes');
  });

  r.get('/alertes', (_req, res) => {
    hardened(res);
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(page);
  });

  // The worker lives at the root so its scope can be the whole site; `no-cache` makes browsers
  // revalidate it (and, since Chrome 68, the scripts it imports) on every update check, so a fixed
  // worker reaches readers at their next visit. sw.js is one line importing sw-core.js, the same
  // line a news site hosts at its own root.
  for (const file of ['sw.js', 'sw-core.js']) {
    r.get(`/${file}`, (_req, res, next) => {
      hardened(res);
      res.setHeader('Service-Worker-Allowed', '/');
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('Content-Security-Policy', "default-src 'self'");
      res.sendFile(file, { root: PUBLIC_DIR, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (err) => {
        if (err) next(err);
      });
    });
  }

  r.use(
    '/static',
    (_req, res, next) => {
      hardened(res);
      next();
    },
    express.static(PUBLIC_DIR, {
      index: false,
      redirect: false,
      fallthrough: true,
      maxAge: 0,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );

  // Public and unauthenticated: the service worker reports a click without any credential. No
  // body is read, the answer is empty, and Alerts.click caps the count at the pushes sent.
  r.post('/api/alerts/:id/click', async (req, res) => {
    const id = alertId.safeParse(req.params.id);
    const result = id.success ? await d.alerts.click(id.data) : null;
    if (!result) throw notFound('alert');
    res.setHeader('Cache-Control', 'no-store');
    res.status(204).end();
  });

  return r;
}
