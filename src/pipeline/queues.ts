// The queues, opened together by the API (which enqueues) and the workers. Each job's contract
// (data, options, id, enqueue function) lives in its own file; this one only opens them.
import { Queue, type ConnectionOptions } from 'bullmq';
import { FANOUT_JOB_OPTIONS, FANOUT_QUEUE, type FanoutJob } from './fanout';
import { DELIVERY_JOB_OPTIONS, DELIVERY_QUEUES, FLASH_QUEUES, type DeliveryJob } from './deliver';
import { MAIL_JOB_OPTIONS, MAIL_QUEUE, type MailJob } from './mail';
import { WEBHOOK_JOB_OPTIONS, WEBHOOK_QUEUE, type WebhookJob } from './webhook';

import { DIGEST_JOB_OPTIONS, DIGEST_QUEUE, type DigestJob } from './digest';
import type { Channel } from '../model';

export const QUEUE = {
  fanout: FANOUT_QUEUE,
  ...DELIVERY_QUEUES,
  pushFlash: FLASH_QUEUES.push,
  emailFlash: FLASH_QUEUES.email,
  mail: MAIL_QUEUE,
  webhook: WEBHOOK_QUEUE,
  digest: DIGEST_QUEUE,
} as const;

export interface Queues {
  fanout: Queue<FanoutJob>;
  push: Queue<DeliveryJob>;
  email: Queue<DeliveryJob>;
  /** The flash lane's delivery queues (see lanes.ts). */
  pushFlash: Queue<DeliveryJob>;
  emailFlash: Queue<DeliveryJob>;
  mail: Queue<MailJob>;
  webhook: Queue<WebhookJob>;
  digest: Queue<DigestJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const delivery = (name: string, ch: Channel) =>
    new Queue<DeliveryJob>(name, { connection, prefix, defaultJobOptions: DELIVERY_JOB_OPTIONS[ch] });
  const q = {
    fanout: new Queue<FanoutJob>(QUEUE.fanout, { connection, prefix, defaultJobOptions: FANOUT_JOB_OPTIONS }),
    push: delivery(QUEUE.push, 'push'),
    email: delivery(QUEUE.email, 'email'),
    pushFlash: delivery(QUEUE.pushFlash, 'push'),
    emailFlash: delivery(QUEUE.emailFlash, 'email'),
    mail: new Queue<MailJob>(QUEUE.mail, { connection, prefix, defaultJobOptions: MAIL_JOB_OPTIONS }),
    webhook: new Queue<WebhookJob>(QUEUE.webhook, { connection, prefix, defaultJobOptions: WEBHOOK_JOB_OPTIONS }),
    digest: new Queue<DigestJob>(QUEUE.digest, { connection, prefix, defaultJobOptions: DIGEST_JOB_OPTIONS }),
  };
  return {
    ...q,
    close: async () => {
      await Promise.all(Object.values(q).map((x) => x.close()));
    },
  };
}
