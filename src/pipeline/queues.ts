// The five queues, opened together by the API (which enqueues) and the workers. Each job's
// contract (data, options, id, enqueue function) lives in its own file; this one only opens them.
import { Queue, type ConnectionOptions } from 'bullmq';
import { FANOUT_JOB_OPTIONS, FANOUT_QUEUE, type FanoutJob } from './fanout';
import { DELIVERY_JOB_OPTIONS, DELIVERY_QUEUES, type DeliveryJob } from './deliver';
import { MAIL_JOB_OPTIONS, MAIL_QUEUE, type MailJob } from './mail';
import { WEBHOOK_JOB_OPTIONS, WEBHOOK_QUEUE, type WebhookJob } from './webhook';

export const QUEUE = { fanout: FANOUT_QUEUE, ...DELIVERY_QUEUES, mail: MAIL_QUEUE, webhook: WEBHOOK_QUEUE } as const;

export interface Queues {
  fanout: Queue<FanoutJob>;
  push: Queue<DeliveryJob>;
  email: Queue<DeliveryJob>;
  mail: Queue<MailJob>;
  webhook: Queue<WebhookJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const q = {
    fanout: new Queue<FanoutJob>(QUEUE.fanout, { connection, prefix, defaultJobOptions: FANOUT_JOB_OPTIONS }),
    push: new Queue<DeliveryJob>(QUEUE.push, { connection, prefix, defaultJobOptions: DELIVERY_JOB_OPTIONS.push }),
    email: new Queue<DeliveryJob>(QUEUE.email, { connection, prefix, defaultJobOptions: DELIVERY_JOB_OPTIONS.email }),
    mail: new Queue<MailJob>(QUEUE.mail, { connection, prefix, defaultJobOptions: MAIL_JOB_OPTIONS }),
    webhook: new Queue<WebhookJob>(QUEUE.webhook, { connection, prefix, defaultJobOptions: WEBHOOK_JOB_OPTIONS }),
  };
  return {
    ...q,
    close: async () => {
      await Promise.all(Object.values(q).map((x) => x.close()));
    },
  };
}
