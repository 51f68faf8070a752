// Which push service an endpoint belongs to, for the delivery report's per-service figures. A
// closed set of five names, so a stranger's endpoint can never add a field or a label.
export const PUSH_SERVICES = ['fcm', 'mozilla', 'apple', 'wns', 'other'] as const;
export type PushService = (typeof PUSH_SERVICES)[number];

const RULES: [RegExp, PushService][] = [
  [/^(fcm|android)\.googleapis\.com$/, 'fcm'],
  [/(^|\.)push\.services\.mozilla\.com$/, 'mozilla'],
  [/(^|\.)push\.apple\.com$/, 'apple'],
  [/(^|\.)notify\.windows\.com$/, 'wns'],
];

export function pushServiceOf(endpoint: string): PushService {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return 'other';
  }
  return RULES.find(([re]) => re.test(host))?.[1] ?? 'other';
}
