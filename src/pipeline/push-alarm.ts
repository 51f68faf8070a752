// Telling our fault from theirs. A 401/403 from a push service means it refused *us* (a VAPID key
// it does not know for that subscription, a JWT it will not accept); when that is more than a
// fifth of one service's recipients of an alert, one loud log line says so, once per revision
// and service. Nothing is pruned either way: those readers are still there.
import type { Progress } from '../store/progress';
import type { Logger } from '../log';
import type { Channel } from '../model';
import { isAuthRefusal } from '../push/service-kind';
import { authAlarms, byServiceOf } from '../store/service-figures';

/** `refused`: "<service> <refusal>" entries of one batch. Reads the revision's figures only when one was a 401/403. */
export async function watchAuthRefusals(
  d: { progress: Progress; log: Logger },
  spec: { alertId: string; rev: number; channel: Channel },
  refused: ReadonlySet<string>,
): Promise<void> {
  const services = new Set([...refused].filter((r) => isAuthRefusal(r.slice(r.indexOf(' ') + 1))).map((r) => r.split(' ')[0]));
  if (services.size === 0) return;
  try {
    const figures = byServiceOf(await d.progress.groupFigures(spec.alertId, spec.rev, spec.channel), spec.channel);
    for (const alarm of authAlarms(figures)) {
      if (!services.has(alarm.service)) continue;
      if (!(await d.progress.flagOnce(spec.alertId, spec.rev, `${spec.channel}:alarm:${alarm.service}`))) continue;
      d.log.error(
        {
          alarm: 'push-auth',
          alertId: spec.alertId,
          rev: spec.rev,
          service: alarm.service,
          refused: alarm.refused,
          recipients: alarm.recipients,
          errors: figures[alarm.service]?.errors,
        },
        `ALARM: ${alarm.refused} of ${alarm.recipients} ${alarm.service} recipients refused with 401/403: our VAPID key or JWT is wrong for that service, not the readers; nobody was removed`,
      );
    }
  } catch (err) {
    // The figures stay right in Redis; only the log line is lost.
    d.log.warn({ err, alertId: spec.alertId }, 'could not check push auth refusals');
  }
}
