// The depeche CLI's own settings, read once from its environment: which service to talk to and
// the editor token to show it. Kept apart from the service's config: the CLI needs none of it.
import { z } from 'zod';

export interface CliConfig {
  /** The service's base URL, e.g. https://alertes.example.fr (DEPECHE_URL). */
  url: string;
  /** An editor secret from EDITOR_TOKENS (DEPECHE_TOKEN); commands that need one refuse without it. */
  token?: string;
}

const schema = z.object({
  DEPECHE_URL: z
    .url({ protocol: /^https?$/, error: 'DEPECHE_URL must be an http(s) URL such as https://alertes.example.fr' })
    .default('http://127.0.0.1:3000'),
  DEPECHE_TOKEN: z.string().trim().min(1).optional(),
});

/** Throws a one-line message when a variable is malformed. */
export function cliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const parsed = schema.safeParse({ DEPECHE_URL: env.DEPECHE_URL || undefined, DEPECHE_TOKEN: env.DEPECHE_TOKEN || undefined });
  if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid environment');
  return { url: parsed.data.DEPECHE_URL.replace(/\/+$/, ''), ...(parsed.data.DEPECHE_TOKEN ? { token: parsed.data.DEPECHE_TOKEN } : {}) };
}
