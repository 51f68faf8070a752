// Limits for the endpoints strangers call: CORS only for the configured site origins, and a
// per-IP request budget kept in Redis so that every API process shares one count per address.
import cors from 'cors';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { ApiError } from './errors';
import type { Domain } from '../services';
import { isCluster } from '../store/redis';

/**
 * Browsers may call the public endpoints from the news site's own pages only. Without
 * CORS_ORIGINS no cross-origin caller is allowed; JSON bodies always need a preflight, so a
 * foreign page cannot even get its POST through.
 */
export function publicCors(origins: readonly string[]): RequestHandler {
  return cors({
    origin: origins.length > 0 ? [...origins] : false,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Content-Type'],
    maxAge: 600,
  });
}

export interface RateLimiter {
  middleware: RequestHandler;
  /** Forgets an address's count (a newsroom's office behind one NAT address, for instance). */
  reset(ip: string): Promise<void>;
}

/** Per-IP budget on the subscription endpoints; a refused request stores and sends nothing. */
export function subscribeRateLimit(d: Domain): RateLimiter {
  const { limit, windowMs } = d.config.http.subscribeRateLimit;
  if (limit === 0) return { middleware: (_req, _res, next) => next(), reset: () => Promise.resolve() };
  const redis = d.redis;
  const store = new RedisStore({
    prefix: d.keys.rateLimit,
    sendCommandCluster: async ({ command }) => {
      const [name, ...args] = command as [string, ...string[]];
      // On a cluster, a script must be loaded on every master: EVALSHA goes to the key's node.
      if (isCluster(redis) && name.toUpperCase() === 'SCRIPT') {
        const replies = await Promise.all(redis.nodes('master').map((n) => n.call(name, ...args)));
        return replies[0] as RedisReply;
      }
      return redis.call(name, ...args) as Promise<RedisReply>;
    },
  });
  const middleware = rateLimit({
    windowMs,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // A Redis outage must give the client a 503 (see errors.ts), not an unlimited endpoint.
    passOnStoreError: false,
    store,
    handler: (_req, res, next) => {
      const retry = res.getHeader('retry-after');
      next(
        new ApiError(
          429,
          'rate_limited',
          `too many requests from this address; try again in ${String(retry ?? Math.ceil(windowMs / 1000))} s`,
        ),
      );
    },
    logger: d.log,
  });
  // The default key of express-rate-limit: the address itself, or its /56 for IPv6. The store is
  // asked directly: the middleware's resetKey is typed as returning nothing and its promise would be lost.
  return { middleware, reset: (ip) => store.resetKey(ipKeyGenerator(ip)) };
}
