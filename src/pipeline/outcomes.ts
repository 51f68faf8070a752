import type { OutcomeKind } from '../model';
// A batch's outcomes go to Redis in small groups, not one command per recipient: at a few
// thousand pushes a second, one script call per push was a tenth of a worker's CPU (measured in
// the bench). A group is written when it holds 64 recipients or 5 ms after its first one, so an
// answer is on record a few milliseconds after it arrived; a worker that dies in between may
// send those few recipients again (the same window as the requests it had on the wire).

const MAX_IDS = 64;
const MAX_DELAY_MS = 5;

/** Where a group is counted besides its outcome (channel.ts's OutcomeTags). */
export interface Tags {
  group?: string;
  detail?: string;
  quarantined?: boolean;
}

interface Group<K> {
  kind: K;
  reason: string | undefined;
  tags: Tags;
  ids: number[];
}

export class OutcomeWriter<K extends OutcomeKind> {
  private readonly groups = new Map<string, Group<K>>();
  private readonly writes: Promise<void>[] = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * write: records `ids` with `kind`, resolving with how many were new.
   * onRecorded: told how many were newly recorded (metrics count each recipient once).
   */
  constructor(
    private readonly write: (kind: K, ids: number[], reason: string | undefined, tags: Tags) => Promise<number>,
    private readonly onRecorded: (kind: K, reason: string | undefined, fresh: number, tags: Tags) => void = () => undefined,
  ) {}

  /** `tags`: the push service that answered and its refusal; groups are per (outcome, reason, tags). */
  add(kind: K, id: number, reason?: string, tags: Tags = {}): void {
    const key = `${kind}\0${reason ?? ''}\0${tags.group ?? ''}\0${tags.detail ?? ''}\0${tags.quarantined ? 'q' : ''}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { kind, reason, tags, ids: [] }));
    g.ids.push(id);
    if (g.ids.length >= MAX_IDS) this.flush(key);
    else this.timer ??= setTimeout(() => this.flushAll(), MAX_DELAY_MS);
  }

  /** Writes what is left and waits for every write; rejects if any failed. */
  async close(): Promise<void> {
    this.flushAll();
    await Promise.all(this.writes);
  }

  private flush(key: string): void {
    const g = this.groups.get(key)!;
    this.groups.delete(key);
    const p = this.write(g.kind, g.ids, g.reason, g.tags).then((fresh) => this.onRecorded(g.kind, g.reason, fresh, g.tags));
    p.catch(() => undefined); // awaited in close(); must not count as unhandled before that
    this.writes.push(p);
  }

  private flushAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const key of [...this.groups.keys()]) this.flush(key);
  }
}
