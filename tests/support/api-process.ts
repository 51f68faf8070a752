// Another API process on a running stack's Redis and key prefix, with its own environment: how
// the tests "restart the API" with another EDITOR_TOKENS, SESSION_MAX_AGE or TRUST_PROXY while
// the data (sessions, counters) stays where it was. Same TOKEN_SECRET, so cookies carry over.
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { start, type Running } from '../../src/runtime';
import { EDITOR, CHIEF, type ApiAnswer, type Loose, type Stack } from './stack';

export interface ApiProcess {
  base: string;
  app: Running;
  api: Stack['api'];
  stop(): Promise<void>;
}

export async function startApi(s: Stack, env: Record<string, string>): Promise<ApiProcess> {
  const { config, app: first } = s;
  if (!config.redis.url) throw new Error('startApi: only on a single redis-server');
  const { secrets } = first.domain;
  const next = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: config.redis.url,
    REDIS_PREFIX: config.redis.prefix,
    DATA_DIR: config.dataDir,
    PUBLIC_BASE_URL: config.http.publicBaseUrl,
    TOKEN_SECRET: secrets.tokenSecret,
    VAPID_PUBLIC_KEY: secrets.vapid.publicKey,
    VAPID_PRIVATE_KEY: secrets.vapid.privateKey,
    PUSH_ALLOWED_ORIGINS: config.push.allowedOrigins.join(','),
    ...(config.push.tlsCaFile ? { PUSH_TLS_CA_FILE: config.push.tlsCaFile } : {}),
    EDITOR_TOKENS: `redaction:${EDITOR},chef:${CHIEF}:chief`,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await start(next, createLogger('silent', 'depeche'), { api: true, worker: false });
  const base = `http://127.0.0.1:${app.port}`;
  return { base, app, api: (method, path, body, headers) => request(base, method, path, body, headers), stop: () => app.stop() };
}

async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  const res = await fetch(base + path, {
    method,
    redirect: 'manual',
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null as unknown as Loose;
  try {
    json = JSON.parse(text) as Loose;
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Everything an event stream sends until the server ends it; rejects if it is still open after timeoutMs. */
export async function readUntilEnd(res: Response, timeoutMs: number): Promise<string> {
  const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  let text = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void reader.cancel();
  }, timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) throw new Error(`the stream was still open after ${timeoutMs} ms: ${text.slice(-200)}`);
  return text;
}
