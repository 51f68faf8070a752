// Start-up refuses secrets that are published placeholders. Kept apart from config.ts, which
// calls it once on the parsed environment.
// Values published in our own files (old compose defaults, .env.example) or that look like a
// placeholder nobody replaced: anyone who read them could sign in or forge links.
const KNOWN_PLACEHOLDERS = ['change-me-please-0123456789', 'change-me-to-a-long-random-secret-0123456789'];
const PLACEHOLDER_LOOK = /change-?me|replace-?me|changeit|your[-_]?(secret|token|key)|^x{8,}$|<[^>]*>/i;

export function refusePlaceholders(e: {
  EDITOR_TOKENS?: string;
  TOKEN_SECRET?: string;
  SECRETS_KEY?: string;
  VAPID_PRIVATE_KEY?: string;
  MAILGUN_WEBHOOK_SIGNING_KEY?: string;
  POSTMARK_WEBHOOK_AUTH?: string;
}): void {
  const values: [string, string | undefined][] = [
    ['TOKEN_SECRET', e.TOKEN_SECRET],
    ['SECRETS_KEY', e.SECRETS_KEY],
    ['VAPID_PRIVATE_KEY', e.VAPID_PRIVATE_KEY],
    ['MAILGUN_WEBHOOK_SIGNING_KEY', e.MAILGUN_WEBHOOK_SIGNING_KEY],
    ['POSTMARK_WEBHOOK_AUTH', e.POSTMARK_WEBHOOK_AUTH?.slice(e.POSTMARK_WEBHOOK_AUTH.indexOf(':') + 1)],
    ...(e.EDITOR_TOKENS ?? '').split(',').map((t): [string, string | undefined] => ['EDITOR_TOKENS', t.split(':')[1]]),
  ];
  for (const [name, v] of values) {
    if (v !== undefined && (KNOWN_PLACEHOLDERS.includes(v) || PLACEHOLDER_LOOK.test(v))) {
      throw new Error(
        `configuration: ${name} holds a placeholder value, which anyone can read in published files; generate a real one with \`npm run keys\``,
      );
    }
  }
}
