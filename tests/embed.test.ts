// What a news site loads from us, over plain HTTP, on a stack configured as in production: the
// base sw-core.js is told (ours relative when imported from our own origin, PUBLIC_BASE_URL
// otherwise), CORS on what the site's worker reports, and no demo article in production. The box
// itself runs in Chromium in tests/embed.browser.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, type Stack } from './support/stack';

const SITE = 'https://www.journal.example';
let s: Stack;
before(async () => {
  s = await startStack({ NODE_ENV: 'production', CORS_ORIGINS: SITE });
});
after(async () => {
  await s.stop();
});

test('sw-core.js names no base when our own worker imports it, and PUBLIC_BASE_URL when a site’s worker (or a browser without fetch metadata) does', async () => {
  const core = (site?: string) => s.api('GET', '/sw-core.js', undefined, site ? { 'sec-fetch-site': site } : {});
  const own = await core('same-origin');
  assert.equal(own.status, 200);
  assert.ok(own.text.startsWith(`'use strict';\nself.DEPECHE_BASE = "";\n`), own.text.slice(0, 80));
  for (const other of ['cross-site', 'same-site', undefined]) {
    const r = await core(other);
    assert.ok(r.text.startsWith(`'use strict';\nself.DEPECHE_BASE = "https://alertes.example.fr";\n`), `${other}: ${r.text.slice(0, 80)}`);
    assert.match(r.text, /addEventListener\('push'/);
  }
  assert.match(own.headers.get('vary') ?? '', /Sec-Fetch-Site/i, 'caches keep the two texts apart');
  assert.equal(own.headers.get('cross-origin-resource-policy'), 'cross-origin');
  assert.equal(own.headers.get('cache-control'), 'no-cache');
});

test('the site’s origin may report clicks and receipts cross-origin; another origin gets no CORS permission', async () => {
  for (const path of ['/api/alerts/abcdefgh12/click', '/api/receipts', '/api/push/public-key', '/api/subscriptions/push']) {
    const preflight = (origin: string) =>
      s.api('OPTIONS', path, undefined, {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      });
    assert.equal((await preflight(SITE)).headers.get('access-control-allow-origin'), SITE, path);
    assert.equal((await preflight('https://ailleurs.example')).headers.get('access-control-allow-origin'), null, path);
  }
});

test('in production (NODE_ENV=production) there is no demo article, and the box is still served', async () => {
  const demo = await s.api('GET', '/demo/article');
  assert.equal(demo.status, 404);
  assert.equal(String(demo.json.error.code), 'not_found');
  const box = await s.api('GET', '/embed.js');
  assert.equal(box.status, 200);
  assert.match(box.text, /attachShadow/);
});
