// Quiet-hours arithmetic: where a subscriber's clock stands and when their window ends. Pure
// functions of (time zone, window, instant), so the fan-out asks them once per group of
// subscribers, never once per subscriber.

/** A daily window in local time, "22:00-08:00" (seconds allowed: "HH:MM:SS"); it may cross midnight. */
export interface DailyWindow { start: number; end: number } // seconds since local midnight

const clock = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** Parses "HH:MM[:SS]-HH:MM[:SS]"; null when malformed or empty (start = end). */
export function parseWindow(raw: string): DailyWindow | null {
  const [a, b, ...rest] = raw.split('-').map((x) => x.trim());
  if (!a || !b || rest.length > 0) return null;
  const secs = (t: string) => {
    const m = clock.exec(t);
    return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0) : null;
  };
  const start = secs(a);
  const end = secs(b);
  return start === null || end === null || start === end ? null : { start, end };
}

/** Subscribers who never told us their time zone (every email subscriber, by default). */
export const DEFAULT_TIME_ZONE = 'Europe/Paris';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz) || tz.length > 64) return false;
  try { formatter(tz); return true; } catch { return false; }
}

/** Seconds since local midnight in `tz` at instant `at`. */
export function localSeconds(tz: string, at: number): number {
  const parts = formatter(tz).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 3600 + get('minute') * 60 + get('second');
}

export function inWindow(w: DailyWindow, seconds: number): boolean {
  return w.start < w.end ? seconds >= w.start && seconds < w.end : seconds >= w.start || seconds < w.end;
}

/**
 * If `now` falls in the window in `tz`, the instant (ms) the window ends; otherwise null.
 * Across a daylight-saving change the first guess is off by the shift, so it is corrected once
 * by reading the local clock at the guess.
 */
export function windowEnd(tz: string, w: DailyWindow, now: number): number | null {
  const s = localSeconds(tz, now);
  if (!inWindow(w, s)) return null;
  const base = now - (now % 1000);
  let end = base + (((w.end - s + 86_400) % 86_400) * 1000);
  const drift = w.end - localSeconds(tz, end);
  const wrapped = ((drift + 43_200 + 86_400) % 86_400) - 43_200;
  end += wrapped * 1000;
  return end;
}

/** "22:00:00-08:00:00": the canonical text of a window, used to name its group. */
export function windowText(w: DailyWindow): string {
  const t = (x: number) => [Math.floor(x / 3600), Math.floor((x % 3600) / 60), x % 60].map((v) => String(v).padStart(2, '0')).join(':');
  return `${t(w.start)}-${t(w.end)}`;
}
