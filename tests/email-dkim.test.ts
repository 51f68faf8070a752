// DKIM signing (verified as a receiving server would, with mailauth and our key in a stub DNS)
// and the per-second rate cap for providers that impose one, seen from the SMTP server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { startStack, editor, type Stack } from './support/stack';
import { seedConfirmed } from './support/email';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

let s: Stack;
before(async () => {
  s = await startStack({
    DKIM_DOMAIN: 'depeche.example',
    DKIM_SELECTOR: 'alertes2024',
    // One line with literal \n, as an orchestrator's environment usually carries it.
    DKIM_PRIVATE_KEY: (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).replace(/\n/g, '\\n'),
    EMAIL_RATE_PER_SECOND: '5',
  });
});
after(async () => {
  await s.stop();
});

/** DNS as the receiver sees it: our public key, and nothing else. */
const resolver = async (name: string, type: string): Promise<string[][]> => {
  if (type === 'TXT' && name === 'alertes2024._domainkey.depeche.example') return [[keyRecord]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
};

test('DKIM: the received message verifies and the signature covers both List-Unsubscribe headers; EMAIL_RATE_PER_SECOND=5 spreads 21 messages over at least 1.5 s', async () => {
  const addresses = Array.from({ length: 21 }, (_, i) => `signe${i}@exemple.fr`);
  await seedConfirmed(s, addresses);
  const n = s.smtp.messages.length;
  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Signé : « Mise à jour » des accords', body: 'Texte accentué : déjà vu !', channels: ['email'] },
    editor(),
  );
  const view = await s.delivered(String(pub.json.id), 15_000);
  assert.equal(view.delivery.email.sent, 21);
  const mails = s.smtp.messages.slice(n);
  assert.equal(mails.length, 21);

  const mail = mails[0];
  const result = await dkimVerify(Buffer.from(mail.raw), { resolver });
  const sig = result.results[0];
  assert.equal(sig.status.result, 'pass', sig.info);
  assert.equal(sig.signingDomain, 'depeche.example');
  assert.equal(sig.selector, 'alertes2024');
  const signed = /\bh=([^;]+)/.exec(mail.headers['dkim-signature'].replace(/\s+/g, ''))![1].toLowerCase().split(':');
  for (const h of ['from', 'subject', 'date', 'message-id', 'list-unsubscribe', 'list-unsubscribe-post']) {
    assert.ok(signed.includes(h), `${h} is signed (h=${signed.join(':')})`);
  }

  // A List-Unsubscribe-Post added on the way breaks the signature: the signature really covers it.
  const tampered = mail.raw.replace(
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    'List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks',
  );
  assert.notEqual(tampered, mail.raw);
  const bad = await dkimVerify(Buffer.from(tampered), { resolver });
  assert.equal(bad.results[0].status.result, 'fail');

  // EMAIL_RATE_PER_SECOND=5: 21 messages need five one-second windows, so the last send starts
  // more than 3 s after the first. The SMTP server only sees arrivals, and the first messages may
  // wait in the pool while it connects, which brings them closer to the later ones: what is
  // asserted is half of that, enough to tell a capped rate from all 21 sent at once. The exact
  // per-second bound of the shared budget is the pacer's (src/email/pacer.ts).
  const times = mails.map((m) => m.receivedAt).sort((a, b) => a - b);
  assert.ok(times.at(-1)! - times[0] >= 1500, `21 messages at 5/s arrived within ${times.at(-1)! - times[0]} ms`);
});
