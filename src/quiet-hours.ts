// Quiet-hours arithmetic: where a subscriber's clock stands and when their window ends. Pure
// functions of (time zone, window, instant), so the fan-out asks them once per group of
// subscribers, never once per subscriber. Time zones and windows strangers send are reduced here
// to a closed set (the zones this runtime knows, the windows the newsroom offers), because each
// distinct pair becomes a quiet-hours group with its own bitmap.

/** A daily window in local time, "22:00-08:00" (seconds allowed: "HH:MM:SS"); it may cross midnight. */
export interface DailyWindow {
  start: number;
  end: number;
} // seconds since local midnight

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

/** The one window the subscribe page and the email preference page offer (their checkbox). */
export const PAGE_QUIET_WINDOW = '22:00-08:00';

// Every zone name we accept, lower-cased → canonical, built once. Intl lists the canonical IANA
// zones but not UTC nor the fixed-offset Etc/GMT±N zones, which some systems report and browsers
// pass on; both are a fixed, small set, so they are added.
const ZONES: ReadonlyMap<string, string> = (() => {
  const offsets = Array.from({ length: 26 }, (_, i) => (i < 12 ? `Etc/GMT+${i + 1}` : `Etc/GMT-${i - 11}`));
  const names = [...Intl.supportedValuesOf('timeZone'), 'UTC', ...offsets];
  return new Map(names.map((z) => [z.toLowerCase(), z]));
})();
const CANONICAL = new Set(ZONES.values());
const zoneShape = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * The canonical name of a time zone ("europe/paris" → "Europe/Paris"), or null if it is not one.
 * An old alias a browser may still report ("Asia/Kolkata" on a runtime that says "Asia/Calcutta",
 * "US/Eastern") is resolved by a throw-away formatter; nothing is cached for a name that fails.
 */
export function canonicalTimeZone(raw: string): string | null {
  if (raw.length > 64 || !zoneShape.test(raw)) return null;
  const known = ZONES.get(raw.toLowerCase());
  if (known !== undefined) return known;
  try {
    return ZONES.get(new Intl.DateTimeFormat('en-GB', { timeZone: raw }).resolvedOptions().timeZone.toLowerCase()) ?? null;
  } catch {
    return null;
  }
}

// One formatter per canonical zone, made when a group of that zone is first asked about: at
// most one per name in ZONES (~440, ~26 KB each), whatever strangers send.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    if (!CANONICAL.has(tz)) throw new Error(`not a canonical time zone: ${tz.slice(0, 64)}`);
    f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** How many zone formatters this process holds (tests check that refused zones add none). */
export const formatterCount = (): number => formatters.size;

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
  let end = base + ((w.end - s + 86_400) % 86_400) * 1000;
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

/** "22:00-08:00": how a whole-minute window is written in config, in requests and on pages. */
export function windowLabel(w: DailyWindow): string {
  const t = (x: number) => `${String(Math.floor(x / 3600)).padStart(2, '0')}:${String(Math.floor((x % 3600) / 60)).padStart(2, '0')}`;
  return `${t(w.start)}-${t(w.end)}`;
}

/**
 * QUIET_WINDOWS: the windows subscribers may choose, "22:00-08:00,23:00-07:00". Whole minutes
 * only, and the pages' own window must be among them (their checkbox sends it). Throws one line.
 */
export function parseQuietWindows(raw: string): DailyWindow[] {
  const entries = raw
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  const out: DailyWindow[] = [];
  for (const entry of entries) {
    const w = /^\d\d:\d\d-\d\d:\d\d$/.test(entry) ? parseWindow(entry) : null;
    if (!w) throw new Error(`QUIET_WINDOWS entry "${entry}" must be a window in whole minutes like 22:00-08:00`);
    if (!out.some((o) => o.start === w.start && o.end === w.end)) out.push(w);
  }
  if (out.length > 24) throw new Error('QUIET_WINDOWS: at most 24 windows');
  if (!out.some((w) => windowLabel(w) === PAGE_QUIET_WINDOW))
    throw new Error(`QUIET_WINDOWS must include ${PAGE_QUIET_WINDOW}, the window the subscribe and preference pages offer`);
  return out;
}

/** The allowed window a subscriber's text names ("22:00:00-08:00:00" is 22:00-08:00), or null. */
export function offeredWindow(raw: string, allowed: readonly DailyWindow[]): DailyWindow | null {
  const w = raw.length <= 40 ? parseWindow(raw) : null;
  return (w && allowed.find((a) => a.start === w.start && a.end === w.end)) ?? null;
}
