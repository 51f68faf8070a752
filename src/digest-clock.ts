// Daily-digest arithmetic: the times a reader may choose (DIGEST_TIMES), and which (time zone,
// minute of the day) groups are due in a span of minutes. Pure functions of zones and instants,
// asked once per group and minute, never per reader.

/** The minutes of the day (0..1439) readers may choose, and the step the pages offer when regular. */
export interface DigestTimes {
  minutes: readonly number[];
  /** Minutes between two allowed times when DIGEST_TIMES is "*\/N"; undefined for a list. */
  step?: number;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "07:30" → 450; null when not a whole-minute clock time. */
export function parseClock(raw: string): number | null {
  const m = HHMM.exec(raw);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

export const clockText = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/**
 * DIGEST_TIMES: "*\/15" (every 15 minutes from midnight; N divides 1440) or a list "07:00,12:30,18:00".
 * Throws one line.
 */
export function parseDigestTimes(raw: string): DigestTimes {
  const text = raw.trim();
  const step = /^\*\/(\d{1,4})$/.exec(text);
  if (step) {
    const n = Number(step[1]);
    if (n < 1 || 1440 % n !== 0) throw new Error(`DIGEST_TIMES "${text}": the step must divide 1440 minutes (1, 5, 15, 30, 60…)`);
    return { minutes: Array.from({ length: 1440 / n }, (_, i) => i * n), step: n };
  }
  const minutes = new Set<number>();
  for (const entry of text.split(',').map((x) => x.trim())) {
    const m = parseClock(entry);
    if (m === null) throw new Error(`DIGEST_TIMES entry "${entry}" must be a time like 07:30 (or the whole variable a step like */15)`);
    minutes.add(m);
  }
  return { minutes: [...minutes].sort((a, b) => a - b) };
}

/** The allowed minute a reader's "HH:MM" names, or null. */
export function offeredDigestTime(raw: string, times: DigestTimes): number | null {
  const m = raw.length === 5 ? parseClock(raw) : null;
  return m !== null && times.minutes.includes(m) ? m : null;
}

// One formatter per canonical zone (the zones come from digest groups, capped by MAX_DIGEST_GROUPS).
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date ("2026-11-26") and minute of the day in `tz` at instant `at`. */
export function localDay(tz: string, at: number): { date: string; minute: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

export interface DueRun {
  /** The minute instant (ms) the group is due at. */
  at: number;
  /** The group's local date then: the day its readers' "one digest a day" counts against. */
  date: string;
}

/**
 * When a group (zone, minute of the day) is due among the whole minutes in (fromMs, toMs]. A
 * minute that a daylight-saving jump skips (02:30 on a spring-forward night) is due at the first
 * minute after the jump; a minute lived twice (autumn) is due twice, and the per-day claim bitmap
 * lets only the first send.
 */
export function dueRuns(tz: string, minute: number, fromMs: number, toMs: number): DueRun[] {
  const out: DueRun[] = [];
  let prev = localDay(tz, fromMs);
  for (let at = fromMs + 60_000; at <= toMs; at += 60_000) {
    const cur = localDay(tz, at);
    const skipped = cur.date === prev.date && cur.minute > prev.minute + 1 && prev.minute < minute && minute < cur.minute;
    if (cur.minute === minute || skipped) out.push({ at, date: cur.date });
    prev = cur;
  }
  return out;
}

/** The next minute instant after `now` at which a group is due (off by the shift on a daylight-saving day). */
export function nextDue(tz: string, minute: number, now: number): number {
  const delta = (minute - localDay(tz, now).minute + 1440) % 1440 || 1440;
  return Math.floor(now / 60_000) * 60_000 + delta * 60_000;
}
