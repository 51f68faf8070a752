import type { Http2ServerResponse } from 'node:http2';

/**
 * How the fake push service answers instead of (or on top of) normal delivery.
 * - `{status}`: answer that status. A 2xx status still validates, decrypts and
 *   records the message (so `[{status:500},{status:201}]` delivers on the retry);
 *   any other status answers at once without delivering. `delayMs`: a 2xx answer
 *   leaves that long after the message was recorded (a slow push service).
 * - `{hang}`: never answer; the stream stays open until the client gives up.
 * - `{trickle}`: send headers (default 201), then one byte per second, forever.
 * - `{hugeBody}`: answer (default 500) with that many bytes of body.
 * None but a 2xx `{status}` records a message.
 */
export type PushBehaviour =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | { hang: true }
  | { trickle: true; status?: number }
  | { hugeBody: number; status?: number };

/** `null` inside a sequence means "normal processing" for that request. */
export type BehaviourSetting = PushBehaviour | { sequence: Array<PushBehaviour | null> } | null;

interface Slot {
  setting: Exclude<BehaviourSetting, null>;
  next: number;
}

/** Keeps per-key settings and walks sequences one request at a time. */
export class BehaviourBook {
  private readonly slots = new Map<string, Slot>();

  set(key: string, setting: BehaviourSetting): void {
    if (setting === null) this.slots.delete(key);
    else this.slots.set(key, { setting, next: 0 });
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** The behaviour for this request; advances a sequence, whose last step repeats. */
  take(key: string): PushBehaviour | null {
    const slot = this.slots.get(key);
    if (!slot) return null;
    if (!('sequence' in slot.setting)) return slot.setting;
    const seq = slot.setting.sequence;
    if (seq.length === 0) return null;
    const step = seq[Math.min(slot.next, seq.length - 1)];
    slot.next++;
    return step;
  }

  clear(): void {
    this.slots.clear();
  }
}

export type StatusBehaviour = Extract<PushBehaviour, { headers?: Record<string, string> }>;

/** The plain `{status}` form, or null for the other behaviours. */
export function asStatus(b: PushBehaviour | null): StatusBehaviour | null {
  if (b === null || 'hang' in b || 'trickle' in b || 'hugeBody' in b) return null;
  return b;
}

export function deliversMessage(b: PushBehaviour | null): boolean {
  if (b === null) return true;
  const s = asStatus(b);
  return s !== null && s.status >= 200 && s.status < 300;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x78);

/**
 * Plays a non-delivering behaviour on the response. Timers are registered in
 * `timers` so the service can stop them when it closes.
 */
export function perform(res: Http2ServerResponse, b: PushBehaviour, timers: Set<NodeJS.Timeout>): void {
  if ('hang' in b) return;
  if ('trickle' in b) {
    res.writeHead(b.status ?? 201, { 'content-type': 'text/plain' });
    res.write('.');
    const timer = setInterval(() => res.write('.'), 1000);
    timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
    return;
  }
  if ('hugeBody' in b) {
    res.writeHead(b.status ?? 500, { 'content-type': 'text/plain' });
    let remaining = b.hugeBody;
    // Respect backpressure so a client that stops reading does not make us buffer it all.
    const pump = (): void => {
      while (remaining > 0) {
        const size = Math.min(remaining, CHUNK.length);
        remaining -= size;
        if (!res.write(CHUNK.subarray(0, size))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  res.writeHead(b.status, { 'content-type': 'text/plain', ...b.headers });
  res.end(b.body ?? '');
}
