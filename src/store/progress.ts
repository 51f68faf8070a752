// Where each revision of an alert stands. Every piece of work (a fan-out wave, a delivery batch)
// is marked queued → done exactly once through one script, and bumps one `open` counter on the
// way in and out: the revision is delivered when nothing is open. Because each step moves a mark
// only from the expected value, a job that runs twice, or a removal racing a run, counts once.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import { defineScripts } from './scripts';
import { Revisions } from './revision-state';
import { type Channel, OUTCOMES, type OutcomeKind } from '../model';

export interface BatchRef {
  ch: Channel;
  wave: string;
  start: number;
}

/** A wave bitmap lives a week: long enough for every retry of its batches. */
const WAVE_TTL_SECONDS = 7 * 24 * 3600;

const n = (v: string | undefined) => Number(v ?? 0);

export class Progress {
  /** The revision's phase in the workflow: the only writer of its `state` field. */
  readonly revisions: Revisions;

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {
    defineScripts(redis);
    this.revisions = new Revisions(redis, k);
  }

  // --- pieces of work -------------------------------------------------------------------------

  /** Registers a fan-out wave; a held one also counts as held until it starts. */
  async waveQueued(id: string, rev: number, wave: string, heldUntilMs?: number): Promise<boolean> {
    const [marks, st] = [this.k.alertMarks(id, rev), this.k.alertState(id, rev)];
    if (heldUntilMs === undefined) return (await this.redis.dpStep(marks, st, `w:${wave}`, '', 'q', 'open', 1, 'waves', 1)) === 1;
    const ok = (await this.redis.dpStep(marks, st, `w:${wave}`, '', 'h', 'open', 1, 'heldOpen', 1, 'waves', 1)) === 1;
    if (ok) await this.redis.hset(st, `h:${wave}`, heldUntilMs);
    return ok;
  }

  async waveStarted(id: string, rev: number, wave: string): Promise<void> {
    const [marks, st] = [this.k.alertMarks(id, rev), this.k.alertState(id, rev)];
    if ((await this.redis.dpStep(marks, st, `w:${wave}`, 'h', 'q', 'heldOpen', -1)) === 1) await this.redis.hdel(st, `h:${wave}`);
  }

  /**
   * A wave finished queueing its batches, stopped, or was removed before it ran. True when this
   * call finished the revision (`delivered`): exactly one caller per revision sees true.
   */
  async waveDone(id: string, rev: number, wave: string): Promise<boolean> {
    const [marks, st] = [this.k.alertMarks(id, rev), this.k.alertState(id, rev)];
    if ((await this.redis.dpStep(marks, st, `w:${wave}`, 'q', 'd', 'open', -1)) === 1) {
      return (await this.revisions.finish(id, rev)).ok;
    }
    if ((await this.redis.dpStep(marks, st, `w:${wave}`, 'h', 'd', 'open', -1, 'heldOpen', -1)) === 1) {
      await this.redis.hdel(st, `h:${wave}`);
      return (await this.revisions.finish(id, rev)).ok;
    }
    return false;
  }

  /** Registers batches before they are queued, so `open` can never reach 0 while one is pending. */
  async batchesQueued(id: string, rev: number, batches: readonly BatchRef[]): Promise<void> {
    const [marks, st] = [this.k.alertMarks(id, rev), this.k.alertState(id, rev)];
    await Promise.all(batches.map((b) => this.redis.dpStep(marks, st, batchField(b), '', 'q', 'open', 1, `${b.ch}:batches`, 1)));
  }

  /** The last piece of work done moves the revision to `delivered` (refused while any is open); true then, once. */
  async batchDone(id: string, rev: number, b: BatchRef): Promise<boolean> {
    const done = await this.redis.dpStep(
      this.k.alertMarks(id, rev),
      this.k.alertState(id, rev),
      batchField(b),
      'q',
      'd',
      'open',
      -1,
      `${b.ch}:batchesDone`,
      1,
    );
    return done === 1 && (await this.revisions.finish(id, rev)).ok;
  }

  /** Waves and batches still queued or held: what a cancel must remove. */
  async pending(id: string, rev: number): Promise<{ waves: string[]; batches: BatchRef[] }> {
    const marks = await this.redis.hgetall(this.k.alertMarks(id, rev));
    const waves: string[] = [];
    const batches: BatchRef[] = [];
    for (const [f, v] of Object.entries(marks)) {
      if (v === 'd') continue;
      const [kind, a, b, c] = f.split(':');
      if (kind === 'w' && a) waves.push(a);
      if (kind === 'b' && a && b && c) batches.push({ ch: a as Channel, wave: b, start: Number(c) });
    }
    return { waves, batches };
  }

  // --- control: who may still send -------------------------------------------------------------

  async ctl(id: string): Promise<{ stop: number; gen: number }> {
    const [stop, gen] = await this.redis.hmget(this.k.alertCtl(id), 'stop', 'gen');
    return { stop: n(stop ?? undefined), gen: n(gen ?? undefined) };
  }

  /** Whether a batch of this revision and generation may still send: checked before each recipient. */
  async mayContinue(id: string, rev: number, gen: number): Promise<boolean> {
    const c = await this.ctl(id);
    return rev > c.stop && gen === c.gen;
  }

  /** Stops every revision up to `rev` (cancel, or superseded by a newer revision). */
  async raiseStop(id: string, rev: number): Promise<void> {
    await this.redis.dpRaiseStop(this.k.alertCtl(id), rev);
  }

  /** Lets `rev` send again, in a new generation: batches of earlier generations stay stopped. */
  async resume(id: string, rev: number): Promise<number> {
    const [, [, gen]] = (await this.redis
      .multi()
      .hset(this.k.alertCtl(id), 'stop', rev - 1)
      .hincrby(this.k.alertCtl(id), 'gen', 1)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return gen;
  }

  // --- outcomes and bitmaps --------------------------------------------------------------------

  async setTargeted(id: string, rev: number, ch: Channel, targeted: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.k.alertState(id, rev), `${ch}:targeted`, targeted)) === 1;
  }

  /** Records one recipient's outcome; returns false when it was already recorded. */
  async record(id: string, rev: number, ch: Channel, subscriberId: number, outcome: OutcomeKind): Promise<boolean> {
    return (await this.recordMany(id, rev, ch, outcome, [subscriberId])) === 1;
  }

  /**
   * Records the same outcome for several recipients; returns how many were not recorded before.
   * With tags, the same script also counts them under their group (the push service) and their
   * refusal, in the revision's state hash; an accepted one lands in the revision's timing
   * buckets, and with a group in that service's report figures (with `reason` for a failure):
   * still one command per group of outcomes.
   */
  async recordMany(
    id: string,
    rev: number,
    ch: Channel,
    outcome: OutcomeKind,
    subscriberIds: readonly number[],
    tags: { group?: string; detail?: string; reason?: string; quarantined?: boolean } = {},
  ): Promise<number> {
    if (subscriberIds.length === 0) return 0;
    const fields = [`${ch}:${outcome}`, ...groupFields(ch, outcome, tags)];
    return this.redis.dpRecordOutcomes(
      this.k.alertBits(id, rev, ch, outcome),
      this.k.alertState(id, rev),
      this.k.alertReport(id, rev),
      outcome === 'sent' ? `t:${ch}:` : '',
      tags.group ? `s:${tags.group}:` : '',
      outcome,
      // The report names a refusal as the alert's figures do ("403 BadJwtToken"), else by its reason.
      tags.detail ?? (outcome === 'failed' ? (tags.reason ?? '') : ''),
      fields.length,
      ...fields,
      ...subscriberIds,
    );
  }

  /** Sets a once-per-revision flag in its state hash; true for the caller that set it first. */
  async flagOnce(id: string, rev: number, field: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.k.alertState(id, rev), field, 1)) === 1;
  }

  /** The revision's per-group counters (see groupFields), as stored. */
  async groupFigures(id: string, rev: number, ch: Channel): Promise<Record<string, string>> {
    const h = await this.redis.hgetall(this.k.alertState(id, rev));
    const prefix = `${ch}:svc:`;
    return Object.fromEntries(Object.entries(h).filter(([f]) => f.startsWith(prefix)));
  }

  /** The revision's clock starts when its first wave does: the report's times are relative to it. */
  async started(id: string, rev: number): Promise<void> {
    await this.redis.dpStarted(this.k.alertState(id, rev));
  }

  /** Which of these subscribers already have an outcome for this revision. */
  async settled(id: string, rev: number, ch: Channel, fromByte: number, toByte: number): Promise<Buffer> {
    const parts = await Promise.all(
      OUTCOMES.map((kind) => this.redis.getrangeBuffer(this.k.alertBits(id, rev, ch, kind), fromByte, toByte)),
    );
    const len = toByte - fromByte + 1;
    const out = Buffer.alloc(len);
    for (const p of parts) for (let i = 0; i < p.length && i < len; i++) out[i] |= p[i];
    return out;
  }

  async storeAudience(id: string, rev: number, ch: Channel, bits: Buffer): Promise<void> {
    await this.redis.set(this.k.alertAudience(id, rev, ch), bits);
  }

  async hasAudience(id: string, rev: number, ch: Channel): Promise<boolean> {
    return (await this.redis.exists(this.k.alertAudience(id, rev, ch))) === 1;
  }

  /**
   * Freezes who one wave sends to: the audience minus everyone settled, minus `mask` (the
   * subscribers in their quiet hours). Returns how many that is.
   */
  async buildWave(id: string, rev: number, ch: Channel, wave: string, mask?: Buffer): Promise<number> {
    const maskKey = await this.tmp(id, `m${wave}${ch}`, mask);
    try {
      return await this.redis.dpWaveBits(
        ...this.bitKeys(id, rev, ch),
        maskKey,
        this.k.alertWave(id, rev, ch, wave),
        'exclude',
        WAVE_TTL_SECONDS,
      );
    } finally {
      await this.redis.del(maskKey);
    }
  }

  /** How many unsettled members of the audience are in `mask`. */
  async countWithin(id: string, rev: number, ch: Channel, mask: Buffer): Promise<number> {
    const maskKey = await this.tmp(id, `c${ch}`, mask);
    try {
      return await this.redis.dpWaveBits(...this.bitKeys(id, rev, ch), maskKey, await this.tmp(id, `d${ch}`), 'within', 0);
    } finally {
      await this.redis.del(maskKey);
    }
  }

  async waveRange(id: string, rev: number, ch: Channel, wave: string, from: number, to: number): Promise<Buffer> {
    return this.redis.getrangeBuffer(this.k.alertWave(id, rev, ch, wave), from, to);
  }

  async waveBytes(id: string, rev: number, ch: Channel, wave: string): Promise<number> {
    return this.redis.strlen(this.k.alertWave(id, rev, ch, wave));
  }

  /** Everyone these revisions reached on this channel (the audience of a correction). */
  async reached(id: string, revs: readonly number[], ch: Channel): Promise<Buffer> {
    const tmp = await this.tmp(id, `r${ch}`);
    const res = await this.redis
      .multi()
      .bitop('OR', tmp, ...revs.map((r) => this.k.alertBits(id, r, ch, 'sent')))
      .getBuffer(tmp)
      .del(tmp)
      .exec();
    return (res?.[1]?.[1] as Buffer | null) ?? Buffer.alloc(0);
  }

  private bitKeys(id: string, rev: number, ch: Channel): [string, string, string, string, string] {
    const b = (kind: OutcomeKind) => this.k.alertBits(id, rev, ch, kind);
    return [this.k.alertAudience(id, rev, ch), b('sent'), b('failed'), b('expired'), b('skipped')];
  }

  private async tmp(id: string, tag: string, bits?: Buffer): Promise<string> {
    const key = this.k.alertTmp(id, `${tag}${process.pid}${Math.random().toString(36).slice(2, 8)}`);
    if (bits && bits.length > 0) await this.redis.set(key, bits, 'EX', 60);
    return key;
  }
}

/**
 * `push:svc:apple:failed`, `push:svc:apple:err:403 BadJwtToken` and `push:svc:apple:quarantined`
 * (read back in service-figures.ts).
 */
function groupFields(ch: Channel, outcome: OutcomeKind, tags: { group?: string; detail?: string; quarantined?: boolean }): string[] {
  if (!tags.group) return [];
  const base = `${ch}:svc:${tags.group}`;
  return [
    `${base}:${outcome}`,
    ...(tags.detail ? [`${base}:err:${tags.detail}`] : []),
    ...(tags.quarantined ? [`${base}:quarantined`] : []),
  ];
}

const batchField = (b: BatchRef) => `b:${b.ch}:${b.wave}:${b.start}`;
