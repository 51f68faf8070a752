// Hop 2: publishing. The alert is stored, then one fan-out job is queued; everything else
// happens in the workers, so the editor's request returns in milliseconds whatever the audience.
import { randomBytes } from 'node:crypto';
import type { Alert, Alerts } from './store/alerts';
import type { AlertInput } from './schemas';
import { fanoutJobId, type Queues } from './queues';
import { fixedPayloadBytes, titleFits } from './push/payload';
import { MAX_PLAINTEXT_BYTES } from './push/encrypt';
import { ApiError } from './errors';

export interface PublishDeps { alerts: Alerts; queues: Queues }

/** Sortable by time, unguessable, and free of ":" (BullMQ job ids and our keys embed it). */
export function newAlertId(now = Date.now()): string {
  return `${now.toString(36)}${randomBytes(5).toString('hex')}`;
}

export async function publishAlert(d: PublishDeps, input: AlertInput, editor: string): Promise<Alert> {
  const alert: Alert = {
    id: newAlertId(),
    rev: 1,
    title: input.title,
    body: input.body,
    ...(input.url ? { url: input.url } : {}),
    ...(input.story ? { story: input.story } : {}),
    topics: input.topics,
    urgency: input.urgency,
    channels: input.channels,
    createdAt: new Date().toISOString(),
    createdBy: editor,
  };
  // Refused before anything is stored or queued: no push could carry this title.
  if (alert.channels.includes('push') && !titleFits(alert)) {
    throw new ApiError(422, 'push_payload_too_large',
      `the title does not fit in a push message: with an empty body the payload takes ${fixedPayloadBytes(alert)} bytes, the limit is ${MAX_PLAINTEXT_BYTES}; shorten the title, the URL or the topics`,
      { bytes: fixedPayloadBytes(alert), limit: MAX_PLAINTEXT_BYTES });
  }
  await d.alerts.create(alert);
  await d.queues.fanout.add('fanout', { alertId: alert.id, rev: alert.rev }, { jobId: fanoutJobId(alert.id, alert.rev) });
  return alert;
}
