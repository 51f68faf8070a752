// The console's live delivery figures. One poller per API process reads the counts of recent
// alerts from Redis every 250 ms while at least one console is connected, and pushes each alert
// whose figures changed to every connected console as a Server-Sent Event.
//
// Why poll rather than Redis pub/sub: the counters move once per recipient inside a Lua script on
// the delivery hot path; publishing there would cost a message per recipient (tens of thousands a
// second at full speed) to say what one HGETALL says four times a second. Polling costs
// O(alerts being watched), not O(recipients); it needs nothing from the workers, wherever they
// run; and it cannot miss an update, because each poll reads the current totals.
//
// Cost to the API's event loop, with many consoles: an update is serialised once, as the SSE
// chunk itself, and the same string goes to every console; an alert changes at most once per
// poll (four times a second); a console that reads slower than that gets only the latest chunk of
// each alert once its socket drains (routes/events.ts), so nothing piles up in the API's memory.
import type { AlertView, Alerts } from '../store/alerts';
import type { Logger } from '../log';

export interface LiveFeedOptions {
  intervalMs: number;
  /** Alerts created longer ago than this are history: the console reads them once. */
  windowMs: number;
  /** Finished alerts are re-read every this many polls, in case they move again (a new revision). */
  finishedEvery: number;
}

const FINAL = new Set(['delivered', 'cancelled', 'superseded']);
const WATCH_LIMIT = 200;

/** Told each changed alert: its id and its SSE chunk, shared by every console. */
type Client = (id: string, chunk: string) => void;

export class LiveFeed {
  private readonly clients = new Set<Client>();
  private readonly last = new Map<string, string>();
  private readonly finished = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticks = 0;

  constructor(
    private readonly alerts: Alerts,
    private readonly log: Logger,
    private readonly opts: LiveFeedOptions,
  ) {}

  /** Adds a console; it gets the current figures of every recent alert, then each change. */
  subscribe(client: Client): () => void {
    this.clients.add(client);
    if (!this.running) {
      this.running = true;
      void this.poll();
    } else {
      for (const [id, chunk] of this.last) client(id, chunk);
    }
    return () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stop();
    };
  }

  private stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last.clear();
    this.finished.clear();
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    const tick = this.ticks++;
    try {
      const ids = await this.alerts.recentIds(Date.now() - this.opts.windowMs, WATCH_LIMIT);
      const due = ids.filter((id) => !this.finished.has(id) || tick % this.opts.finishedEvery === 0);
      const views = await Promise.all(due.map((id) => this.alerts.view(id)));
      for (const view of views) if (view) this.publish(view);
      const inWindow = new Set(ids);
      for (const id of this.last.keys())
        if (!inWindow.has(id)) {
          this.last.delete(id);
          this.finished.delete(id);
        }
    } catch (err) {
      // Redis away: keep the consoles connected and try again at the next tick.
      this.log.debug({ err: (err as Error).message }, 'live feed poll failed');
    }
    if (this.running) this.timer = setTimeout(() => void this.poll(), this.opts.intervalMs);
  }

  private publish(view: AlertView): void {
    const chunk = `event: alert\ndata: ${JSON.stringify(view)}\n\n`;
    if (FINAL.has(view.status)) this.finished.add(view.id);
    else this.finished.delete(view.id);
    if (this.last.get(view.id) === chunk) return;
    // Oldest first in the map, so a new console replays alerts in the order they were created.
    this.last.set(view.id, chunk);
    for (const c of this.clients) c(view.id, chunk);
  }
}
