// One pino logger for the process. Redaction is a safety net only: the code never puts keys,
// secrets, endpoints or email addresses into log fields in the first place.
import pino from 'pino';

export type Logger = pino.Logger;

/** `destination`: where lines go (default stdout); tests pass a stream that keeps them. */
export function createLogger(level: string, name = 'depeche', destination?: pino.DestinationStream): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['email', 'endpoint', 'keys', 'auth', 'p256dh', 'token', 'secret', 'authorization', '*.email', '*.endpoint', '*.keys', '*.token', '*.authorization'],
      censor: '[redacted]',
    },
  }, destination);
}
