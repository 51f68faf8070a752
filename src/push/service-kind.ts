// Which push service a subscription lives on, and what its refusals mean. The services differ in
// how they explain a refusal (Apple: JSON `reason`; Mozilla: JSON `errno`; FCM: a sentence of
// text; WNS: headers we do not read), so each answer is reduced here to one string from a small
// closed set: these strings become Redis hash fields and metric labels, and a stranger's push
// service must not be able to invent new ones.
// (Not named `services.ts`: that name is the composition's Domain bag, which the lint rule guards.)

export type PushService = 'fcm' | 'mozilla' | 'apple' | 'wns' | 'other';
export const PUSH_SERVICES: readonly PushService[] = ['fcm', 'mozilla', 'apple', 'wns', 'other'];

export function isPushService(v: string): v is PushService {
  return (PUSH_SERVICES as readonly string[]).includes(v);
}

/** The part of an allowlist rule classification needs (allowlist.ts's OriginRule has it). */
export interface ClassedRule {
  host: string;
  wildcard: boolean;
  port: string;
  service?: PushService;
}

function byHost(host: string): PushService {
  if (host === 'fcm.googleapis.com') return 'fcm';
  if (host.endsWith('.push.services.mozilla.com')) return 'mozilla';
  if (host === 'push.apple.com' || host.endsWith('.push.apple.com')) return 'apple';
  if (host.endsWith('.notify.windows.com')) return 'wns';
  return 'other';
}

/**
 * The service of an endpoint (or of an origin `https://host[:port]`): an allowlist entry that
 * names its class wins (tests and private deployments), else the public host names decide.
 */
export function classify(endpointOrOrigin: string, rules: readonly ClassedRule[]): PushService {
  let url: URL;
  try {
    url = new URL(endpointOrOrigin);
  } catch {
    return 'other';
  }
  const host = url.hostname.toLowerCase();
  const port = url.port === '443' ? '' : url.port;
  for (const r of rules) {
    if (!r.service || r.port !== port) continue;
    if (r.wildcard ? host.endsWith(`.${r.host}`) : host === r.host) return r.service;
  }
  return byHost(host);
}

// Apple's documented `reason` values for web push (and its APNs siblings it may answer with).
const APPLE_REASONS = new Set([
  'BadJwtToken',
  'VapidPkHashMismatch',
  'BadWebPushTopic',
  'BadDeviceToken',
  'BadExpirationDate',
  'BadPriority',
  'BadPath',
  'BadTopic',
  'BadUrgency',
  'ExpiredProviderToken',
  'ExpiredToken',
  'Forbidden',
  'InvalidProviderToken',
  'MissingProviderToken',
  'MethodNotAllowed',
  'PayloadEmpty',
  'PayloadTooLarge',
  'TooManyProviderTokenUpdates',
  'TooManyRequests',
  'InternalServerError',
  'ServiceUnavailable',
  'Shutdown',
  'Unregistered',
]);

// FCM explains itself in English sentences (sometimes an HTML page): a few telling phrases
// are enough to tell a key problem from a gone subscriber.
const FCM_PHRASES: readonly [RegExp, string][] = [
  [/unsubscribed or expired/i, 'expired'],
  [/does not correspond to the sender|sender id|key mismatch/i, 'key mismatch'],
  [/jwt|authorization header|crypto-key|vapid/i, 'bad jwt'],
  [/too (large|big)|payload/i, 'too large'],
  [/quota|rate/i, 'quota'],
  [/ttl/i, 'bad ttl'],
];

function jsonField(body: string, field: string): unknown {
  try {
    const v = JSON.parse(body) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[field] : undefined;
  } catch {
    return undefined;
  }
}

/** The refusal's reason in that service's terms, from a closed set; '' when it gives none we know. */
export function refusalReason(service: PushService, body: string): string {
  if (!body) return '';
  if (service === 'apple') {
    const r = jsonField(body, 'reason');
    return typeof r === 'string' && APPLE_REASONS.has(r) ? r : 'other';
  }
  if (service === 'mozilla') {
    const errno = jsonField(body, 'errno');
    return typeof errno === 'number' && Number.isInteger(errno) && errno >= 100 && errno <= 999 ? `errno ${errno}` : 'other';
  }
  if (service === 'fcm') return FCM_PHRASES.find(([re]) => re.test(body))?.[1] ?? 'other';
  return '';
}

/** The key under which a refusal is counted: "403 BadJwtToken", "410 errno 103", "401". */
export function refusalKey(status: number, reason: string): string {
  return reason ? `${status} ${reason}` : String(status);
}

/** Whether a refusal says our key or JWT is wrong (ours to fix), not that the reader left. */
export function isAuthRefusal(key: string): boolean {
  return /^40[13]\b/.test(key);
}
