// The express application: security headers, parsers with size limits, the console, the routes,
// and the JSON error envelope.
import express from 'express';
import type { Domain } from '../services';
import type { Queues } from '../pipeline/queues';
import { errorHandler, notFoundHandler } from './errors';
import { alertRoutes } from './routes/alerts';
import { pushKeyRoutes } from './routes/push-keys';
import { subscriptionRoutes } from './routes/subscriptions';
import { readerRoutes } from './routes/reader';
import { digestRoutes } from './routes/digest';
import { limitRoutes } from './routes/limits';
import { preferenceRoutes } from './routes/preferences';
import { errorPage } from './links';
import { composeRoutes } from './routes/compose';
import { eventRoutes } from './routes/events';
import { cookies, sessionResolver, sessionRoutes } from './session';
import { siteHeaders } from './security';
import { consoleRoutes } from './console';
import { adminRoutes } from './admin';
import { pushTransferRoutes } from './routes/push-transfer';
import { topicRoutes } from './routes/topics';
import { hookRoutes, sendgridHookRoutes } from './routes/hooks';
import { suppressionRoutes } from './routes/suppressions';
import { receiptRoutes } from './routes/receipts';
import { reportRoutes } from './routes/reports';
import type { ApiError } from './errors';
import { publicCors, subscribeRateLimit } from './abuse';
import { signInThrottle } from './signin-throttle';
import { webhookRoutes } from './routes/webhooks';
import { cmsHookRoutes } from './routes/cms-hook';
import { openApiRoutes } from './openapi';
import { embedRoutes } from './routes/embed';

export function createApp(d: Domain, queues: Queues): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Which proxies may name the client (X-Forwarded-For): the per-address limits count by it.
  app.set('trust proxy', d.config.http.trustProxy);
  app.use(siteHeaders);
  app.use(signInThrottle(d));
  // CORS before anything else that answers, so preflights are answered before any parser or limit.
  const cors = publicCors(d.config.http.corsOrigins);
  // …and what a site's own worker (sw-core.js on the site's origin) reports back: receipts, clicks.
  app.use(['/api/subscriptions', '/api/push/public-key', '/api/receipts', '/api/alerts/:id/click'], cors);
  app.get('/api/topics', cors); // the list of topics, for a site's own subscribe form
  // The editor's bulk import/export: authenticated, streamed (no JSON parser), and not counted
  // against the per-address budget of the public subscription endpoints.
  app.use(pushTransferRoutes(d));
  // Signed over its raw bytes: read before the JSON parser below.
  app.use(cmsHookRoutes(d, queues));
  app.use(sendgridHookRoutes(d));
  const limiter = subscribeRateLimit(d);
  app.use(['/api/subscriptions', '/api/alerts/:id/click', '/api/receipts'], limiter.middleware);
  app.use(express.json({ limit: d.config.http.bodyLimit, type: 'application/json' }));
  app.use((_req, res, next) => {
    // Pages get an HTML error; the API gets JSON (see errorHandler).
    res.locals.renderError = (e: ApiError) => errorPage(d, e, res.locals.lang as string | undefined);
    next();
  });

  app.get('/api/health', async (_req, res) => {
    try {
      await withTimeout(d.redis.ping(), 1000);
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', error: { code: 'unavailable', message: 'Redis does not answer' } });
    }
  });
  app.use(consoleRoutes());
  // Sessions are looked up only where they mean something, never for static files.
  app.use(['/api', '/admin'], cookies(d.secrets.tokenSecret), sessionResolver(d.sessions));
  app.use(sessionRoutes(d.secrets.editors, d.sessions));
  app.use(adminRoutes(d, queues));
  app.use(composeRoutes(d));
  app.use(topicRoutes(d));
  app.use(hookRoutes(d));
  app.use(suppressionRoutes(d));
  app.use(webhookRoutes(d));
  app.use(eventRoutes(d));
  app.use(subscriptionRoutes(d, queues));
  app.use(pushKeyRoutes(d));
  // Before the editor's routes: the click report under /api/alerts is public.
  app.use(readerRoutes(d));
  app.use(embedRoutes(d));
  app.use(receiptRoutes(d));
  app.use(preferenceRoutes(d));
  app.use(alertRoutes(d, queues));
  app.use(reportRoutes(d));
  app.use(limitRoutes(d, limiter));
  app.use(
    openApiRoutes({
      allowlist: d.allowlist,
      quietWindows: d.config.workflow.quietWindows,
      digestTimes: d.config.digest.times,
      baseUrl: d.config.http.publicBaseUrl,
    }),
  );
  app.use(digestRoutes(d, queues));
  app.use(notFoundHandler);
  app.use(errorHandler(d.log));
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
