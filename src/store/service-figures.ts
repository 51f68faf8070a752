// The per-push-service figures of one revision, read back from the counters that progress.ts
// bumps with each group of outcomes (`push:svc:<service>:<outcome>`, `push:svc:<service>:err:<refusal>`),
// and the alarm they may raise: when more than a fifth of one service's recipients answer 401 or
// 403, the fault is ours (a wrong key, a refused JWT), not the readers'.
import { isAuthRefusal } from '../push/service-kind';

export interface ServiceFigures {
  sent: number;
  failed: number;
  expired: number;
  /** Refusals by "<status> <reason>" ("403 BadJwtToken", "410 errno 103", "401"). */
  errors: Record<string, number>;
  /** Subscribers this revision's refusals put in quarantine (absent: none). */
  quarantined?: number;
}

export interface AuthAlarm {
  service: string;
  /** Recipients of that service that answered 401 or 403, and all its settled recipients. */
  refused: number;
  recipients: number;
  message: string;
}

/** Over this share of one service's recipients refusing with 401/403, the alarm is raised. */
export const AUTH_ALARM_SHARE = 0.2;

/** Groups the `<ch>:svc:` fields of a state hash by service (other fields are ignored). */
export function byServiceOf(h: Record<string, string>, ch = 'push'): Record<string, ServiceFigures> {
  const out: Record<string, ServiceFigures> = {};
  const prefix = `${ch}:svc:`;
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith(prefix)) continue;
    const rest = field.slice(prefix.length);
    const colon = rest.indexOf(':');
    if (colon < 0) continue;
    const service = rest.slice(0, colon);
    const what = rest.slice(colon + 1);
    const f = (out[service] ??= { sent: 0, failed: 0, expired: 0, errors: {} });
    if (what === 'sent' || what === 'failed' || what === 'expired' || what === 'quarantined') f[what] = Number(value);
    else if (what.startsWith('err:')) f.errors[what.slice(4)] = Number(value);
  }
  return out;
}

/** The services whose 401/403 answers are over AUTH_ALARM_SHARE of their settled recipients. */
export function authAlarms(byService: Record<string, ServiceFigures>): AuthAlarm[] {
  const alarms: AuthAlarm[] = [];
  for (const [service, f] of Object.entries(byService)) {
    const recipients = f.sent + f.failed + f.expired;
    const refused = Object.entries(f.errors)
      .filter(([key]) => isAuthRefusal(key))
      .reduce((sum, [, n]) => sum + n, 0);
    if (recipients === 0 || refused / recipients <= AUTH_ALARM_SHARE) continue;
    const pct = Math.round((100 * refused) / recipients);
    alarms.push({
      service,
      refused,
      recipients,
      message: `${pct} % des abonnés ${service} refusés en 401/403 : notre clé VAPID ou notre JWT est en cause, pas les lecteurs (rien n'est supprimé)`,
    });
  }
  return alarms;
}
