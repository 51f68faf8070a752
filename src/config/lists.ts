// Parsers of the variables that hold lists or structured values. Each throws an Error whose
// message is one line naming the variable; config/index.ts prefixes it and stops the start.
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { emailSchema, topicSchema } from '../schemas';
import { EDITOR_ROLES, URGENCIES, type Urgency } from '../model';
import type { CmsSecret, DkimConfig, EditorToken, PageTopic, RedisNode, TestRecipients } from './types';

export const DEFAULT_PUSH_ORIGINS = [
  'https://fcm.googleapis.com',
  'https://*.push.services.mozilla.com',
  'https://web.push.apple.com',
  'https://*.notify.windows.com',
];

export const DEFAULT_PAGE_TOPICS =
  'international:International,politique:Politique,economie:Économie,societe:Société,sport:Sport,culture:Culture';

export const csv = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

// A very-low message waits for the device to be on power and Wi-Fi, so it needs longer to live;
// a breaking alert that arrives half a day late is no longer breaking.
const DEFAULT_TTL: Record<Urgency, number> = { high: 4 * 3600, normal: 8 * 3600, low: 12 * 3600, 'very-low': 24 * 3600 };

/** "14400" for every urgency, or "high:3600,normal:14400" (unnamed urgencies keep their default). */
export function parseTtls(raw: string | undefined): Record<Urgency, number> {
  const out = { ...DEFAULT_TTL };
  if (raw === undefined) return out;
  const valid = (n: number) => Number.isInteger(n) && n >= 0 && n <= 2419200;
  if (/^\d+$/.test(raw.trim())) {
    const n = Number(raw.trim());
    if (!valid(n)) throw new Error('PUSH_TTL_SECONDS must be between 0 and 2419200 (28 days)');
    for (const u of URGENCIES) out[u] = n;
    return out;
  }
  for (const entry of csv(raw)) {
    const m = /^(very-low|low|normal|high):(\d+)$/.exec(entry);
    if (!m || !valid(Number(m[2])))
      throw new Error(
        `PUSH_TTL_SECONDS entry "${entry}" must be urgency:seconds (urgency very-low, low, normal or high; at most 2419200 s)`,
      );
    out[m[1] as Urgency] = Number(m[2]);
  }
  return out;
}

export function parseTestRecipients(raw: string): TestRecipients {
  const out: TestRecipients = { emails: [], push: [] };
  for (const entry of csv(raw)) {
    if (/^\d{1,15}$/.test(entry) && Number(entry) > 0) out.push.push(Number(entry));
    else if (emailSchema.safeParse(entry).success) out.emails.push(entry);
    else throw new Error(`TEST_RECIPIENTS: "${entry}" is neither an email address nor a push subscription id`);
  }
  return out;
}

const roleSchema = z.enum(EDITOR_ROLES);

/** `host:port,host:port` seeds of a Redis Cluster: ioredis discovers the other nodes from any of them. */
export function parseClusterNodes(raw: string): RedisNode[] {
  const nodes = csv(raw).map((entry) => {
    // [v6]:port for IPv6, host:port otherwise.
    const m = /^(?:\[([0-9a-f:]+)\]|([a-z0-9.-]+)):(\d{1,5})$/i.exec(entry);
    const portNumber = Number(m?.[3]);
    if (!m || portNumber < 1 || portNumber > 65535) throw new Error(`REDIS_CLUSTER_NODES: entry "${entry}" must be host:port`);
    return { host: m[1] ?? m[2], port: portNumber };
  });
  if (nodes.length === 0) throw new Error('REDIS_CLUSTER_NODES: give at least one host:port');
  return nodes;
}

export function parsePageTopics(raw: string): PageTopic[] {
  const topics = csv(raw).map((entry) => {
    const at = entry.indexOf(':');
    const slug = at > 0 ? entry.slice(0, at).trim() : '';
    const label = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!topicSchema.safeParse(slug).success || label.length === 0 || label.length > 60) {
      throw new Error(`PAGE_TOPICS: entry "${entry}" must be slug:Label (slug in a-z, 0-9, -; label up to 60 characters)`);
    }
    return { slug, label };
  });
  if (topics.length > 20) throw new Error('PAGE_TOPICS: at most 20 topics (a subscription holds 20)');
  if (new Set(topics.map((t) => t.slug)).size !== topics.length) throw new Error('PAGE_TOPICS: a topic is listed twice');
  return topics;
}

export function parseEditorTokens(raw: string): EditorToken[] {
  return csv(raw).map((entry) => {
    const [name, secret, role, ...rest] = entry.split(':');
    if (!name || !secret || rest.length > 0) throw new Error(`EDITOR_TOKENS: entry "${name ?? ''}:…" must be name:secret[:role]`);
    if (secret.length < 16) throw new Error(`EDITOR_TOKENS: the secret of "${name}" must be at least 16 characters`);
    const parsedRole = roleSchema.safeParse(role ?? 'editor');
    if (!parsedRole.success) throw new Error(`EDITOR_TOKENS: role of "${name}" must be editor or chief`);
    return { name, secret, role: parsedRole.data };
  });
}

/** DKIM needs all three variables; the key must be a PEM private key (a one-line value with literal \n is accepted). */
export function parseDkim(e: { DKIM_DOMAIN?: string; DKIM_SELECTOR?: string; DKIM_PRIVATE_KEY?: string }): DkimConfig | undefined {
  const set = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY].filter((v) => v !== undefined).length;
  if (set === 0) return undefined;
  if (set !== 3) throw new Error('configuration: DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY must be set together');
  const privateKey = e.DKIM_PRIVATE_KEY!.replace(/\\n/g, '\n');
  try {
    createPrivateKey(privateKey);
  } catch {
    throw new Error('configuration: DKIM_PRIVATE_KEY is not a PEM private key');
  }
  return { domainName: e.DKIM_DOMAIN!.toLowerCase(), keySelector: e.DKIM_SELECTOR!, privateKey };
}

/** A Standard Webhooks secret: `whsec_` then base64 of 24 to 64 random bytes. */
export const WHSEC = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

/** "wordpress:whsec_…,autre:whsec_…": one secret per CMS, the name says who acted in the audit log. */
export function parseCmsSecrets(raw: string): CmsSecret[] {
  const out: CmsSecret[] = [];
  for (const entry of csv(raw)) {
    const i = entry.indexOf(':');
    const name = entry.slice(0, i);
    const secret = entry.slice(i + 1);
    if (i < 0 || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(name))
      throw new Error('CMS_HOOK_SECRETS entries must be name:whsec_… with a lowercase name (a-z, 0-9, -; at most 32)');
    if (!WHSEC.test(secret)) throw new Error(`CMS_HOOK_SECRETS: the secret of "${name}" must be whsec_ and base64 of at least 24 bytes`);
    if (out.some((c) => c.name === name)) throw new Error(`CMS_HOOK_SECRETS: "${name}" is listed twice`);
    out.push({ name, secret });
  }
  return out;
}
