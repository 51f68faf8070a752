import { createDecipheriv, type ECDH, hkdfSync } from 'node:crypto';

/** What a subscriber (user agent) holds to read its messages. */
export interface UaKeys {
  ecdh: ECDH;
  /** Uncompressed P-256 public key, 65 bytes. */
  publicKey: Buffer;
  /** 16-byte auth secret shared with the application server. */
  auth: Buffer;
}

const TAG_LENGTH = 16;

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/**
 * Decrypts an `aes128gcm` Web Push body (RFC 8291 key derivation over RFC 8188 records).
 * Throws with a descriptive message on any malformed input, so the caller can
 * report it as the rejection reason.
 */
export function decryptAes128gcm(body: Buffer, ua: UaKeys): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  // RFC 8188 requires rs > 17: one tag plus at least one delimiter byte.
  if (rs < 18) throw new Error(`record size ${rs} too small`);
  if (idlen !== 65) throw new Error(`keyid length ${idlen}, expected a 65-byte P-256 key`);
  const asPublic = body.subarray(21, 21 + idlen);
  if (asPublic.length !== 65 || asPublic[0] !== 0x04) throw new Error('keyid is not an uncompressed P-256 key');

  let ecdhSecret: Buffer;
  try {
    ecdhSecret = ua.ecdh.computeSecret(asPublic);
  } catch (err) {
    throw new Error(`ECDH failed: ${(err as Error).message}`, { cause: err });
  }
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0', 'latin1'), ua.publicKey, asPublic]);
  const ikm = hkdf(ecdhSecret, ua.auth, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0', 'latin1'), 16);
  const nonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0', 'latin1'), 12);

  const records = splitRecords(body.subarray(21 + idlen), rs);
  const plain: Buffer[] = [];
  records.forEach((record, seq) => {
    const last = seq === records.length - 1;
    plain.push(unpad(openRecord(record, cek, recordNonce(nonce, seq)), last));
  });
  return Buffer.concat(plain);
}

function splitRecords(ciphertext: Buffer, rs: number): Buffer[] {
  if (ciphertext.length === 0) throw new Error('no ciphertext');
  const records: Buffer[] = [];
  for (let off = 0; off < ciphertext.length; off += rs) records.push(ciphertext.subarray(off, off + rs));
  return records;
}

// Each record's nonce is the base nonce XOR its sequence number (RFC 8188 §2.3).
function recordNonce(base: Buffer, seq: number): Buffer {
  const n = Buffer.from(base);
  n.writeUInt32BE((n.readUInt32BE(8) ^ seq) >>> 0, 8);
  return n;
}

function openRecord(record: Buffer, cek: Buffer, iv: Buffer): Buffer {
  if (record.length <= TAG_LENGTH) throw new Error('record shorter than its tag');
  const decipher = createDecipheriv('aes-128-gcm', cek, iv);
  decipher.setAuthTag(record.subarray(record.length - TAG_LENGTH));
  try {
    return Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_LENGTH)), decipher.final()]);
  } catch {
    throw new Error('AEAD authentication failed (wrong keys or corrupted body)');
  }
}

// Plaintext is data || delimiter || zeros; 0x02 marks the last record, 0x01 any other.
function unpad(plain: Buffer, last: boolean): Buffer {
  let i = plain.length - 1;
  while (i >= 0 && plain[i] === 0) i--;
  if (i < 0) throw new Error('record has no padding delimiter');
  const expected = last ? 0x02 : 0x01;
  if (plain[i] !== expected) throw new Error(`padding delimiter 0x${plain[i].toString(16)}, expected 0x0${expected}`);
  return plain.subarray(0, i);
}
