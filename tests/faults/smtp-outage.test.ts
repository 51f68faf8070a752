// Scenario 4: the SMTP server is down for a while (30 s in the issue, FAULT_OUTAGE_MS here) when
// an alert goes out: every confirmed subscriber gets it once the server is back, and nobody
// gets it twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOBS } from './knobs';
import { startRig, type Rig } from './rig';

let rig: Rig;
const N = 200;
before(async () => {
  rig = await startRig({ JOB_LOCK_MS: String(KNOBS.jobLockMs), BATCH_SIZE: '64' });
});
after(async () => {
  await rig.stop();
});

test(`SMTP server down for ${KNOBS.outageMs} ms: all emails delivered afterwards, none twice`, { timeout: 240_000 }, async (t) => {
  const addresses = await rig.seedEmail(N);
  await rig.api();
  await rig.worker();
  await rig.smtp.pause();
  const id = await rig.publish({ title: 'Coupure générale', body: 'Le courriel attendra.', channels: ['email'] });
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, KNOBS.outageMs));
  const during = await rig.alerts.view(id);
  assert.equal(during?.delivery.email.sent, 0, 'nothing can be sent while the server is down');
  assert.notEqual(during?.status, 'delivered');
  await rig.smtp.resume();
  const view = await rig.delivered(id, 180_000);

  const per = new Map<string, number>();
  for (const m of rig.smtp.messages) for (const to of m.to) per.set(to, (per.get(to) ?? 0) + 1);
  const twice = [...per.values()].filter((c) => c > 1).length;
  t.diagnostic(
    `all ${per.size} emails delivered ${Date.now() - t0 - KNOBS.outageMs} ms after the server came back; ${rig.smtp.messages.length} messages, ${twice} recipients got it twice`,
  );
  assert.deepEqual([...per.keys()].sort(), [...addresses].sort());
  assert.equal(twice, 0);
  assert.deepEqual(view.delivery.email, { targeted: N, sent: N, failed: 0, bounced: 0, complained: 0 });
});
