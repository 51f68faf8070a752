// The API description (issue 19): GET /api/openapi.json is a valid OpenAPI 3.1 document for an
// independent validator, it names every route the express app answers and nothing else, the
// bodies the tests send validate against it, and /api/docs renders it in Chromium under our CSP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Express } from 'express';
import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { startStack, editor, type Stack } from './support/stack';
import { artifact, launchChromium } from './support/browser';
import { examples } from '../src/http/openapi/examples';

type Json = Record<string, unknown>;
interface Op {
  requestBody?: { content: Record<string, { schema: Json; example?: unknown }> };
  responses: Json;
  security?: Json[];
}

let s: Stack;
let doc: { openapi: string; paths: Record<string, Record<string, Op>> };
before(async () => {
  s = await startStack();
  const r = await s.api('GET', '/api/openapi.json');
  assert.equal(r.status, 200, r.text);
  doc = r.json as unknown as typeof doc;
});
after(async () => {
  await s.stop();
});

test('GET /api/openapi.json is accepted by @seriousme/openapi-schema-validator as OpenAPI 3.1', async () => {
  const { Validator } = await import('@seriousme/openapi-schema-validator');
  const v = new Validator();
  const res = await v.validate(structuredClone(doc));
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(res.valid, true, JSON.stringify(res.errors, null, 1));
});

interface LayerLike {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: LayerLike[] };
  slash?: boolean;
  rawPath?: unknown;
}

/** Every (method, path) the app routes, from express 5's router stack (routers mounted at '/'). */
function routesOf(app: Express): Set<string> {
  const found = new Set<string>();
  const walk = (stack: LayerLike[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths)
          for (const [m, on] of Object.entries(layer.route.methods))
            if (on && m !== '_all') found.add(`${m.toUpperCase()} ${p.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle.stack && layer.slash) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack);
  return found;
}

test('every route of the express app is in the document, and every documented path and method is routed', () => {
  const app = s.app.server?.listeners('request')[0] as Express;
  const routed = routesOf(app);
  const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
  assert.ok(routed.size > 30, `the walk found only ${routed.size} routes`);
  const undocumented = [...routed].filter((r) => !documented.has(r));
  const missing = [...documented].filter((r) => !routed.has(r));
  assert.deepEqual(undocumented, [], 'routes missing from the OpenAPI document');
  assert.deepEqual(missing, [], 'documented operations that no route answers');
});

test('every operation states who may call it and documents its refusals; editor routes document 401', () => {
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(Array.isArray(op.security), `${method} ${path} has no security requirement`);
      if (op.security.some((x) => 'bearer' in x)) assert.ok('401' in op.responses, `${method} ${path} does not document 401`);
    }
});

function validator(path: string, method: string, type = 'application/json') {
  const media = doc.paths[path]?.[method]?.requestBody?.content[type];
  assert.ok(media, `no ${type} body documented for ${method} ${path}`);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return { check: ajv.compile(media.schema), example: media.example };
}

test('every documented JSON example body validates against its own schema', () => {
  let n = 0;
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      if (!op.requestBody?.content['application/json']) continue;
      const { check, example } = validator(path, method);
      assert.ok(check(example), `${method} ${path}: ${JSON.stringify(check.errors)}`);
      n++;
    }
  assert.ok(n >= 8, `only ${n} example bodies`);
});

test('the bodies the tests send (publish, push subscribe, email subscribe, update, correction) validate against the document and are accepted by the routes', async () => {
  for (const [slug, label] of [
    ['international', 'International'],
    ['politique', 'Politique'],
  ])
    await s.api('POST', '/api/topics', { slug, label }, editor());
  const b = s.push.newSubscriber();
  const push = {
    subscription: { endpoint: b.endpoint, keys: b.keys },
    topics: ['politique'],
    timeZone: 'Europe/Paris',
    quietHours: '22:00-08:00',
  };
  const sent: [string, string, unknown, number][] = [
    ['post', '/api/subscriptions/push', push, 201],
    ['post', '/api/subscriptions/email', examples.emailSubscribe, 202],
    ['post', '/api/alerts', examples.publish, 202],
  ];
  let id = '';
  for (const [method, path, payload, status] of sent) {
    const { check } = validator(path, method);
    assert.ok(check(payload), `${path}: ${JSON.stringify(check.errors)}`);
    const r = await s.api(method.toUpperCase(), path, payload, path === '/api/alerts' ? editor() : {});
    assert.equal(r.status, status, r.text);
    if (path === '/api/alerts') id = String(r.json.id);
  }
  for (const [path, payload] of [
    ['/api/alerts/{id}/updates', examples.update],
    ['/api/alerts/{id}/corrections', examples.correction],
  ] as const) {
    const { check } = validator(path, 'post');
    assert.ok(check(payload), `${path}: ${JSON.stringify(check.errors)}`);
    await s.delivered(id, 15_000);
    const r = await s.api('POST', path.replace('{id}', id), payload, editor());
    assert.equal(r.status, 202, r.text);
  }
  // And the schema refuses what the route refuses.
  const { check } = validator('/api/alerts', 'post');
  assert.equal(check({ ...examples.publish, title: '' }), false);
  assert.equal(check({ ...examples.publish, couleur: 'rouge' }), false);
  const refused = await s.api('POST', '/api/alerts', { ...examples.publish, couleur: 'rouge' }, editor());
  assert.equal(refused.status, 400, refused.text);
});

test('/api/docs renders the reference in Chromium from our origin with no CSP violation and no request elsewhere', async () => {
  const docs = await s.api('GET', '/api/docs');
  const csp = docs.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(s.base) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    await page.goto(`${s.base}/api/docs`);
    await page.getByText('Publish an alert').first().waitFor({ timeout: 30_000 });
    await page.getByText('Subscribe a browser to push alerts (same endpoint again updates it)').first().waitFor();
    await page.screenshot({ path: artifact('api-docs.png'), fullPage: false });
    assert.deepEqual(problems, []);
    assert.deepEqual(elsewhere, []);
  } finally {
    await browser.close();
  }
});
