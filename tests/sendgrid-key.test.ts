// SENDGRID_WEBHOOK_PUBLIC_KEY takes SendGrid's verification key as its dashboard shows it (base64
// DER) or as PEM, and stops the start with one line for anything that is not a P-256 public key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '../src/config';

const base = { REDIS_URL: 'redis://127.0.0.1:6379' };
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
const der = p256.export({ format: 'der', type: 'spki' }).toString('base64');

test('SENDGRID_WEBHOOK_PUBLIC_KEY: base64 DER and PEM give the same key; other keys and garbage stop the start', () => {
  assert.equal(loadConfig({ ...base, SENDGRID_WEBHOOK_PUBLIC_KEY: der }).email.bounce.sendgridPublicKey, der);
  const pem = p256.export({ format: 'pem', type: 'spki' }).toString();
  assert.equal(loadConfig({ ...base, SENDGRID_WEBHOOK_PUBLIC_KEY: pem }).email.bounce.sendgridPublicKey, der);
  assert.equal(loadConfig(base).email.bounce.sendgridPublicKey, undefined);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  for (const bad of [p384, rsa, 'pas-une-cle', der.slice(0, 40)]) {
    assert.throws(
      () => loadConfig({ ...base, SENDGRID_WEBHOOK_PUBLIC_KEY: bad }),
      /configuration: SENDGRID_WEBHOOK_PUBLIC_KEY must be the P-256 verification key/,
    );
  }
});
