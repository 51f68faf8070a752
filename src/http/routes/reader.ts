// The reader's side, served by the app: the subscribe page, its static files, the service worker,
// and the click report the service worker sends when a notification is opened.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type Response } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { TEMPLATES_DIR } from '../../email/render';
import { notFound } from '../errors';
import { clockText, type DigestTimes } from '../../digest-clock';
import { LANGUAGES } from '../../model';

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

function workerHeaders(res: Response): void {
  hardened(res);
  res.setHeader('Service-Worker-Allowed', '/');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Content-Security-Policy', "default-src 'self'");
}

/**
 * sw-core.js runs inside whichever worker imported it: ours (/sw.js on this origin) or a news
 * site's one-line /sw.js on the site's origin. There, a relative URL ('/api/receipts',
 * '/static/commun.js', the icons) would name the SITE, and a worker cannot learn the URL of a
 * script it imported. So the server tells it, in a first line setting `self.DEPECHE_BASE`:
 * - imported from our own origin (the browser's fetch metadata says `Sec-Fetch-Site: same-origin`),
 *   an empty base: relative URLs already point here, under whatever address the browser used;
 * - otherwise (another origin, or a browser that sends no fetch metadata), PUBLIC_BASE_URL, the
 *   address our emails link to, so a wrong one shows at once.
 * Two fixed texts, read once; `Vary: Sec-Fetch-Site` keeps caches from mixing them up.
 */
function coreScripts(publicBaseUrl: string): { sameOrigin: string; foreign: string } {
  const text = readFileSync(join(PUBLIC_DIR, 'sw-core.js'), 'utf8');
  // 'use strict' first: a directive only counts before any other statement.
  const withBase = (base: string) => `'use strict';\nself.DEPECHE_BASE = ${JSON.stringify(base)};\n${text}`;
  return { sameOrigin: withBase(''), foreign: withBase(publicBaseUrl) };
}

/** The newsletter's « un résumé quotidien à HH:MM »: a time field for a regular step, a menu for a list. */
function digestChoice(times: DigestTimes): { time: string; step?: number; options: string[] } {
  const morning = 7 * 60;
  const time = clockText(times.minutes.includes(morning) ? morning : (times.minutes[0] ?? morning));
  return times.step === undefined ? { time, options: times.minutes.map(clockText) } : { time, step: times.step * 60, options: [] };
}

export function readerRoutes(d: Domain): Router {
  const r = Router();
  // Rendered once per language: the page depends on configuration only. `?lang=en` picks the
  // English one; no or another value, the newsroom's language (a page, not an API: no error).
  const pageData = { topics: d.config.page.topics, digest: digestChoice(d.config.digest.times) };
  const pages = new Map<string, string>(LANGUAGES.map((l) => [l, d.renderer.in(l).subscribePage(pageData)]));
  const page = d.renderer.subscribePage(pageData);

  r.get('/', (_req, res) => {
    res.redirect(302, '/alertes');
  });

  r.get('/alertes', (req, res) => {
    hardened(res);
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    const lang = typeof req.query.lang === 'string' ? req.query.lang : '';
    res.type('html').send(pages.get(lang) ?? page);
  });

  // The worker lives at the root so its scope can be the whole site; `no-cache` makes browsers
  // revalidate it (and, since Chrome 68, the scripts it imports) on every update check, so a fixed
  // worker reaches readers at their next visit. sw.js is one line importing sw-core.js, the same
  // line a news site hosts at its own root.
  r.get('/sw.js', (_req, res, next) => {
    workerHeaders(res);
    res.sendFile('sw.js', { root: PUBLIC_DIR, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (err) => {
      if (err) next(err);
    });
  });
  const core = coreScripts(d.config.http.publicBaseUrl);
  r.get('/sw-core.js', (req, res) => {
    workerHeaders(res);
    // Imported by a news site's own one-line worker, from another origin (README, « On your site »).
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.setHeader('Vary', 'Sec-Fetch-Site');
    res.type('text/javascript; charset=utf-8').send(req.get('sec-fetch-site') === 'same-origin' ? core.sameOrigin : core.foreign);
  });

  r.use(
    '/static',
    (_req, res, next) => {
      hardened(res);
      // Public files a news site's worker and pages load from our origin too (commun.js, icons).
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
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
