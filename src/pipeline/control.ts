// The kill switch and its companions: cancel, resume, approve, and superseding older revisions.
// Stopping rests on one small control hash per alert that every delivery batch reads before
// each recipient: raising its `stop` revision halts senders within one request per lane, and
// bumping its generation on resume retires any straggler of the cancelled run. Queued work is
// removed from the queues as well, so a cancelled alert leaves nothing behind to wake up later.
import type { Domain } from '../services';
import type { Queues } from './queues';
import { deliveryJobId, deliveryQueue } from './deliver';
import { statusOf } from '../store/revision-state';
import { conflict, forbidden, notFound } from '../errors';
import { approvedWave, queueFirstWave, fanoutJobId } from './fanout';
import { alertData, emit, eventDelivery, eventId } from './events';
import { laneOf, type Actor } from '../model';

export type Control = Pick<Domain, 'alerts' | 'progress' | 'audit' | 'webhooks' | 'log'> & { queues: Queues };

/** How long cancel waits for batches already sending to finish their in-flight requests. */
const CANCEL_DRAIN_MS = 2000;
/** How long resume waits for stragglers of the cancelled run before refusing. */
const RESUME_DRAIN_MS = 5000;

export async function cancelAlert(d: Control, id: string, actor: Actor): Promise<void> {
  const latest = await d.alerts.get(id);
  if (!latest) throw notFound('alert');
  const was = statusOf(await d.progress.revisions.read(id, latest.rev));
  // The phase first (a fan-out wave not started yet refuses to start), then the flag (senders
  // stop before their next recipient), then the queues.
  const moved = await d.progress.revisions.cancel(id, latest.rev, actor.name);
  if (!moved.ok) throw conflict('not_cancellable', `the alert is already ${moved.found}`);
  await d.progress.raiseStop(id, latest.rev);
  for (let rev = 1; rev <= latest.rev; rev++) await removePending(d, id, rev);
  await drain(d, id, CANCEL_DRAIN_MS);
  await d.audit.record({ action: 'cancel', editor: actor.name, role: actor.role, alertId: id, rev: latest.rev, details: { was } });
  if (latest.kind === 'test') return;
  // After the drain: the counts are final, as the editor's answer shows them.
  const st = await d.progress.revisions.read(id, latest.rev);
  await emit(d, {
    type: 'alert.cancelled',
    id: eventId(id, latest.rev, 'cancelled', (await d.progress.ctl(id)).gen),
    data: alertData(latest, { by: actor.name, status: 'cancelled', delivery: eventDelivery(st.figures) }),
  });
}

/** Continues a cancelled revision where it stopped: its outcome bits make resending impossible. */
export async function resumeAlert(d: Control, id: string, actor: Actor): Promise<void> {
  const latest = await d.alerts.get(id);
  if (!latest) throw notFound('alert');
  if (statusOf(await d.progress.revisions.read(id, latest.rev)) !== 'cancelled')
    throw conflict('not_cancelled', 'only a cancelled alert can be resumed');
  if (!(await drain(d, id, RESUME_DRAIN_MS)))
    throw conflict('still_stopping', 'batches of the cancelled run are still finishing; retry in a few seconds');
  // Two resumes at once: only one moves the phase, so only one generation is started.
  const moved = await d.progress.revisions.resume(id, latest.rev);
  if (!moved.ok) throw conflict('not_cancelled', 'only a cancelled alert can be resumed');
  const gen = await d.progress.resume(id, latest.rev);
  // An alert cancelled while it waited for approval waits for it again (the transition decides).
  if (!moved.awaitingApproval) await queueFirstWave(d, latest, gen);
  await d.audit.record({
    action: 'resume',
    editor: actor.name,
    role: actor.role,
    alertId: id,
    rev: latest.rev,
    details: { generation: gen },
  });
}

/** Four eyes: an alert over APPROVAL_THRESHOLD goes out once a chief other than its author approves. */
export async function approveAlert(d: Control, id: string, actor: Actor): Promise<void> {
  if (actor.role !== 'chief') throw forbidden('only a chief editor can approve an alert');
  const latest = await d.alerts.get(id);
  if (!latest) throw notFound('alert');
  const st = await d.progress.revisions.read(id, latest.rev);
  if (statusOf(st) !== 'awaiting_approval') throw conflict('not_awaiting_approval', 'this alert is not waiting for approval');
  if (latest.createdBy === actor.name) throw forbidden('another chief must approve: you wrote this revision');
  // Two chiefs approving at once: only one moves the state, so only one wave is queued.
  if (!(await d.progress.revisions.approve(id, latest.rev, actor.name)).ok) {
    throw conflict('not_awaiting_approval', 'this alert is not waiting for approval');
  }
  const gen = (await d.progress.ctl(id)).gen;
  await queueFirstWave(d, latest, gen, approvedWave(gen));
  await d.audit.record({
    action: 'approve',
    editor: actor.name,
    role: actor.role,
    alertId: id,
    rev: latest.rev,
    details: { audience: st.approval?.audience ?? 0 },
  });
}

/** A newer revision exists: earlier ones still in progress stop, and stay `superseded`. */
export async function supersede(d: Control, id: string, rev: number): Promise<void> {
  await d.progress.raiseStop(id, rev - 1);
  for (let r = 1; r < rev; r++) {
    // Refused for a revision already delivered, cancelled or superseded: nothing left to remove.
    if ((await d.progress.revisions.supersede(id, r)).ok) await removePending(d, id, r);
  }
}

/**
 * Removes a revision's queued and delayed jobs; each removed one counts as done. It never finishes
 * a revision (callers have moved it to cancelled or superseded first), so no alert.delivered here.
 */
export async function removePending(d: Control, id: string, rev: number): Promise<void> {
  const [{ waves, batches }, alert] = await Promise.all([d.progress.pending(id, rev), d.alerts.getRev(id, rev)]);
  const lane = alert ? laneOf(alert) : 'normal';
  await Promise.all(
    waves.map(async (wave) => {
      if ((await d.queues.fanout.remove(fanoutJobId(id, rev, wave))) === 1) await d.progress.waveDone(id, rev, wave);
    }),
  );
  await Promise.all(
    batches.map(async (b) => {
      const queue = deliveryQueue(d.queues, b.ch, lane);
      if ((await queue.remove(deliveryJobId({ alertId: id, rev, channel: b.ch, wave: b.wave, start: b.start }))) === 1)
        await d.progress.batchDone(id, rev, b);
    }),
  );
}

/** Waits until no job of this alert is active; false when some still are after `timeoutMs`. */
async function drain(d: Control, id: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { fanout, push, email, pushFlash, emailFlash } = d.queues;
    const active = await Promise.all([fanout, push, email, pushFlash, emailFlash].map((q) => q.getActive()));
    if (!active.flat().some((j) => (j.data as { alertId?: string } | undefined)?.alertId === id)) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}
