// Which push service an endpoint belongs to, for the delivery report's per-service figures. There
// is one classifier, service-kind.ts's `classify`: this module only keeps the names the report
// imports. A closed set of five names, so a stranger's endpoint can never add a field or a label.
import { classify, PUSH_SERVICES, type PushService } from './service-kind';

export { classify, PUSH_SERVICES, type PushService };

/** The service of an endpoint by its public host name alone (no allowlist classes). */
export function pushServiceOf(endpoint: string): PushService {
  return classify(endpoint, []);
}
