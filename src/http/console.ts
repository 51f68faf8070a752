// The editor's console: static files (an HTML page, ES modules, a style sheet) under /console,
// served with the strict policy of security.ts. No build step: what is in public/console is what
// the browser runs, and `npm run typecheck` checks it (tsconfig.console.json).
import { join, resolve } from 'node:path';
import express, { Router } from 'express';
import { consoleCsp } from './security';
import { APP_ROOT } from '../paths';

export const CONSOLE_DIR = resolve(APP_ROOT, 'public/console');

export function consoleRoutes(): Router {
  const r = Router();
  // Revalidated on every load (ETag), so a deploy reaches editors at their next reload.
  const noCache = { 'Cache-Control': 'no-cache' };
  r.get('/console', consoleCsp, (_req, res) => {
    res.sendFile(join(CONSOLE_DIR, 'index.html'), { headers: noCache });
  });
  r.use('/console', consoleCsp, express.static(CONSOLE_DIR, { index: false, redirect: false, setHeaders: (res) => res.set(noCache) }));
  return r;
}
