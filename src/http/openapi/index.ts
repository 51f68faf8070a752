// The API's description: an OpenAPI 3.1 document assembled from the zod schemas the routes
// validate with (so it cannot drift from them), served at GET /api/openapi.json, and a readable
// reference at /api/docs (Swagger UI, its files served from node_modules, nothing from a CDN).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import express, { Router } from 'express';
import type { OriginRule } from '../../push/allowlist';
import type { DailyWindow } from '../../quiet-hours';
import type { DigestTimes } from '../../digest-clock';
import { APP_ROOT } from '../../paths';
import { docsCsp } from '../security';
import { responses, schemas, securitySchemes, type Json } from './components';
import { alertPaths } from './paths-alerts';
import { publicPaths } from './paths-public';
import { pushPaths } from './paths-push';
import { sitePaths } from './paths-site';
import { integrationPaths } from './paths-integrations';

const DOCS_DIR = resolve(APP_ROOT, 'public/docs');
// Its package ships the built viewer as plain files; only the two the page loads are asked for.
const VIEWER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const VIEWER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css'];
const VERSION = (JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface DescriptionInput {
  /** The push services subscriptions may name (PUSH_ALLOWED_ORIGINS). */
  allowlist: readonly OriginRule[];
  /** The quiet windows readers may choose (QUIET_WINDOWS). */
  quietWindows: readonly DailyWindow[];
  /** The daily-digest times readers may choose (DIGEST_TIMES). */
  digestTimes: DigestTimes;
  /** PUBLIC_BASE_URL, when set: the server the document names. */
  baseUrl?: string;
}

export function openApiDocument(input: DescriptionInput): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'dépêche',
      version: VERSION,
      summary: 'Alertes info par Web Push et email',
      description:
        'Breaking-news alerts for a newsroom. Every refusal is JSON `{"error":{"code","message","details"?}}`. Editors authenticate with `Authorization: Bearer <secret>` (API clients, the `depeche` CLI) or the console’s session cookie plus `X-CSRF-Token` on writes.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: input.baseUrl ?? '/' }],
    tags: [
      { name: 'Alertes', description: 'Publishing and following alerts (editors)' },
      { name: 'Abonnés', description: 'Bulk import and export of push subscribers (editors)' },
      { name: 'Lecteurs', description: 'What readers and their pages call' },
      { name: 'Rubriques', description: 'The newsroom’s topics' },
      { name: 'Console', description: 'The console’s sign-in, previews and housekeeping' },
      { name: 'Site', description: 'Health, metrics, pages' },
      { name: 'Intégrations', description: 'Suppression list, webhooks out, CMS and email-provider hooks in' },
    ],
    paths: {
      ...alertPaths(),
      ...publicPaths(input.allowlist, input.quietWindows, input.digestTimes),
      ...pushPaths(),
      ...sitePaths(),
      ...integrationPaths(),
    },
    components: { schemas, responses, securitySchemes },
  };
}

export function openApiRoutes(input: DescriptionInput): Router {
  const r = Router();
  // Built once: it depends only on the configuration.
  const document = JSON.stringify(openApiDocument(input));
  r.get('/api/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(document);
  });
  r.get('/api/docs', docsCsp, (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile(join(DOCS_DIR, 'index.html'));
  });
  const files = { index: false, redirect: false, fallthrough: true } as const;
  // Only the viewer's two files: its package also holds a demo page pointing at another site.
  r.get('/api/docs/ui/:file', docsCsp, (req, res, next) => {
    const file = VIEWER_FILES.find((f) => f === req.params.file);
    if (file === undefined) {
      next();
      return;
    }
    res.set('Cache-Control', 'no-cache').sendFile(join(VIEWER_DIR, file));
  });
  r.use('/api/docs', docsCsp, express.static(DOCS_DIR, files));
  return r;
}
