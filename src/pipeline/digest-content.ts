// What a daily digest says: the stories of the 24 hours before its minute, each at its latest
// revision that went out by email, flash alerts first. Read once per run (every batch of a run
// shares it) and compiled once per selection of stories, so a reader costs string concatenation.
import type { Alerts } from '../store/alerts';
import type { Progress } from '../store/progress';
import type { Renderer } from '../email/render';
import { AlertMime } from '../email/mime';
import type { Alert, Lang } from '../model';
import { inLanguage, textLanguage } from '../alert-text';

export const DIGEST_WINDOW_MS = 24 * 3600_000;
/** A digest lists at most this many stories (the flash ones and the newest); a mail must stay readable. */
export const MAX_DIGEST_STORIES = 30;
/** Stories moved in the window that are looked at, newest first: bounds the reads of one run. */
const MAX_CANDIDATES = 500;

export interface DigestStory {
  /** The latest revision that went out; `flash` when any of the window's revisions was a flash. */
  alert: Alert;
}

export interface ContentDeps {
  alerts: Alerts;
  progress: Progress;
}

/**
 * The stories of (at − 24 h, at], ordered: flash first, then newest first. A revision counts when
 * it went out by email (its email audience was frozen), was not cancelled, and is no test.
 */
export async function storiesFor(d: ContentDeps, at: number): Promise<DigestStory[]> {
  const from = at - DIGEST_WINDOW_MS;
  const ids = await d.alerts.recentIds(from + 1, MAX_CANDIDATES);
  const stories: DigestStory[] = [];
  for (const id of ids) {
    const revs = (await d.alerts.revisions(id)).filter((r) => {
      const t = Date.parse(r.createdAt);
      return r.kind !== 'test' && r.channels.includes('email') && t > from && t <= at;
    });
    const out: Alert[] = [];
    for (const r of revs) {
      const st = await d.progress.revisions.read(id, r.rev);
      if (st.figures.email.targeted !== undefined && st.phase !== 'cancelled') out.push(r);
    }
    const latest = out.at(-1);
    if (latest) stories.push({ alert: { ...latest, flash: out.some((r) => r.flash) } });
  }
  const time = (s: DigestStory) => Date.parse(s.alert.createdAt);
  return stories.sort((a, b) => Number(b.alert.flash) - Number(a.alert.flash) || time(b) - time(a));
}

/** The stories a reader follows: all without topics, else those of their topics and the general ones. */
export function storiesOf(stories: readonly DigestStory[], readerTopics: readonly string[]): DigestStory[] {
  const chosen = stories.filter(
    (s) => readerTopics.length === 0 || s.alert.topics.length === 0 || s.alert.topics.some((t) => readerTopics.includes(t)),
  );
  return chosen.slice(0, MAX_DIGEST_STORIES);
}

/** Per-process caches of one worker: a run's stories, and each selection's compiled message. */
export class DigestCache {
  private readonly runs = new Map<number, Promise<DigestStory[]>>();
  private readonly mimes = new Map<string, AlertMime>();

  constructor(private readonly d: ContentDeps & { renderer: Renderer; from: string; listId: string }) {}

  stories(at: number): Promise<DigestStory[]> {
    let p = this.runs.get(at);
    if (!p) {
      p = storiesFor(this.d, at);
      p.catch(() => this.runs.delete(at)); // a failed read is tried again by the next batch
      this.runs.set(at, p);
      if (this.runs.size > 8) this.runs.delete(this.runs.keys().next().value!);
    }
    return p;
  }

  /** The digest in a reader's language (undefined: the default), each story in it when it has the text. */
  message(at: number, stories: readonly DigestStory[], lang?: Lang): AlertMime {
    const renderer = this.d.renderer.in(lang);
    const key = `${at}|${renderer.lang}|${stories.map((s) => `${s.alert.id}.${s.alert.rev}`).join(',')}`;
    let m = this.mimes.get(key);
    if (!m) {
      const email = renderer.digestEmail(
        stories.map((s) => inLanguage(s.alert, renderer.lang)),
        { from: new Date(at - DIGEST_WINDOW_MS), to: new Date(at) },
        stories.map((s) => textLanguage(s.alert, renderer.lang, this.d.renderer.lang)),
      );
      m = new AlertMime(email, { from: this.d.from, listId: this.d.listId });
      this.mimes.set(key, m);
      if (this.mimes.size > 64) this.mimes.delete(this.mimes.keys().next().value!);
    }
    return m;
  }
}
