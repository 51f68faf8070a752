// The CLI's HTTP side: one fetch per call against DEPECHE_URL with the editor's Bearer token, the
// service's JSON errors turned into one-line CliErrors with the documented exit codes.
import type { CliConfig } from '../config/cli';

/** The exit codes the README documents. */
export const EXIT = {
  ok: 0,
  /** The service refused the request (4xx): the message is its error code and sentence. */
  refused: 1,
  /** Bad flags, a missing token or file, an unreadable JSON file. */
  usage: 2,
  /** The service could not be reached, timed out, or answered 5xx. */
  network: 3,
  /** `status --watch`: the alert ended without being delivered (cancelled). */
  notDelivered: 4,
} as const;

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const usage = (message: string) => new CliError(EXIT.usage, message);

export interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** A raw body (a file stream) sent as is; `headers` must give its Content-Type. */
  stream?: ReadableStream<Uint8Array>;
  /** Milliseconds before giving up (default 30 s; 0: never, for the event stream). */
  timeoutMs?: number;
}

export class Client {
  constructor(private readonly config: CliConfig) {}

  get url(): string {
    return this.config.url;
  }

  private auth(): Record<string, string> {
    if (!this.config.token) throw usage('DEPECHE_TOKEN is not set: export DEPECHE_TOKEN=<an editor secret from EDITOR_TOKENS>');
    return { authorization: `Bearer ${this.config.token}` };
  }

  /** A raw response (for streams); refusals and network failures become CliErrors. */
  async raw(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.auth(), ...opts.headers };
    let body: RequestInit['body'];
    if (opts.stream) body = opts.stream;
    else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await fetch(this.config.url + path, {
        method,
        headers,
        body,
        signal: opts.timeoutMs === 0 ? null : AbortSignal.timeout(opts.timeoutMs ?? 30_000),
        ...(opts.stream ? { duplex: 'half' } : {}),
      });
    } catch (err) {
      throw networkError(this.config.url, err);
    }
    if (res.status >= 400) throw await refusal(res);
    return res;
  }

  async call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        throw new CliError(EXIT.network, `${method} ${path}: the answer is not JSON (is DEPECHE_URL the service?)`);
      }
    }
    return { status: res.status, headers: res.headers, json };
  }
}

export function networkError(url: string, err: unknown): CliError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new CliError(EXIT.network, `${url}: no answer in time`);
  const why = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  return new CliError(EXIT.network, `${url}: cannot reach the service (${why})`);
}

async function refusal(res: Response): Promise<CliError> {
  const code = res.status >= 500 ? EXIT.network : EXIT.refused;
  let detail = `HTTP ${res.status}`;
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } };
    if (j.error?.code) detail = `${res.status} ${j.error.code}: ${j.error.message ?? ''}`.trim();
  } catch {
    /* not JSON: the status says enough */
  }
  return new CliError(code, `refused: ${detail}`);
}
