// One pino logger for the process. Redaction is a safety net only: the code never puts keys,
// secrets, endpoints or email addresses into log fields in the first place.
// In a terminal the lines are made readable (pino-pretty); piped to a file or a log collector they
// stay JSON, one object a line. LOG_FORMAT=pretty|json overrides the guess.
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** `destination`: where lines go (default stdout); tests pass a stream that keeps them. */
export function createLogger(level: string, name = 'depeche', destination?: pino.DestinationStream, format?: 'pretty' | 'json'): Logger {
  const readable = destination === undefined && (format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          'email',
          'endpoint',
          'keys',
          'auth',
          'p256dh',
          'token',
          'secret',
          'authorization',
          '*.email',
          '*.endpoint',
          '*.keys',
          '*.token',
          '*.authorization',
        ],
        censor: '[redacted]',
      },
    },
    readable ? pretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', sync: true }) : destination,
  );
}
