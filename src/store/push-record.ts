// The packed binary form of one push subscriber, ~200 bytes for an FCM subscription instead of
// the ~300 of the JSON a browser hands us. What makes it small:
// - the keys are raw bytes (65 + 16), not base64url;
// - the endpoint's "base" (origin and directory, e.g. https://fcm.googleapis.com/fcm/send/) is a
//   2-byte code into a small shared table. Code 0 (NO_BASE) is never given out: such a record
//   carries its base itself (a host that only a wildcard admits, which anyone may invent);
// - the token after it is stored 6 bits per character when it is made of base64url characters
//   (FCM tokens are two such parts joined by ":"), 3 bytes for every 4 characters. Packing the
//   characters rather than base64-decoding them round-trips any token, canonical or not.
// The bucket hashes keep these in Redis listpacks, where ~10 bytes less per record also decides
// which allocator size class a 512-record bucket lands in.

export interface RecordFields {
  p256dh: Buffer;
  auth: Buffer;
  baseCode: number;
  /** The base itself, when baseCode is NO_BASE. */
  inlineBase?: string;
  topicIds: readonly number[];
  token: string;
}

// v1: the path after the origin as UTF-8 text; v2: the token packed (see packToken).
const V1 = 1;
const V2 = 2;
const HEAD = 1 + 65 + 16 + 2 + 1;
/** The code no table entry has (the table counts from 1): the base is in the record. */
export const NO_BASE = 0;
const RAW = 0xff;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Character code → 6-bit value, -1 for characters outside the alphabet. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
const CHAR_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));

function isBase64url(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || VALUE[c] < 0) return false;
  }
  return true;
}

/** Splits an endpoint into the shared base (origin + directory) and the subscriber's token. */
export function splitEndpoint(endpoint: string): { base: string; token: string } {
  const url = new URL(endpoint);
  const slash = url.pathname.lastIndexOf('/');
  return { base: url.origin + url.pathname.slice(0, slash + 1), token: url.pathname.slice(slash + 1) + url.search };
}

/** base64url characters, 6 bits each, into ceil(6n / 8) bytes. */
function pack6(chars: string): Buffer {
  const out = Buffer.alloc(Math.ceil((chars.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < chars.length; i++) {
    acc = ((acc & 0xff) << 6) | VALUE[chars.charCodeAt(i)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if (bits > 0) out[at] = (acc << (8 - bits)) & 0xff;
  return out;
}

function unpack6(b: Buffer, count: number): string {
  const out = Buffer.allocUnsafe(count);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (bits < 6) {
      acc = ((acc & 0xff) << 8) | b[at++];
      bits += 8;
    }
    bits -= 6;
    out[i] = CHAR_CODES[(acc >> bits) & 0x3f]!;
  }
  return out.toString('latin1');
}

function packToken(token: string): Buffer {
  const parts = token.split(':');
  const packable = parts.length < RAW && parts.every((p) => p.length <= 255 && isBase64url(p));
  if (!packable) return Buffer.concat([Buffer.from([RAW]), Buffer.from(token, 'utf8')]);
  const chunks: Buffer[] = [Buffer.from([parts.length])];
  for (const p of parts) chunks.push(Buffer.from([p.length]), pack6(p));
  return Buffer.concat(chunks);
}

function unpackToken(b: Buffer): string {
  if (b[0] === RAW) return b.subarray(1).toString('utf8');
  const parts: string[] = [];
  let at = 1;
  for (let i = 0; i < b[0]; i++) {
    const chars = b[at];
    const bytes = Math.ceil((chars * 6) / 8);
    parts.push(unpack6(b.subarray(at + 1, at + 1 + bytes), chars));
    at += 1 + bytes;
  }
  return parts.join(':');
}

/** An inline base: its UTF-8 length (2 bytes, an endpoint may be 1024 characters) then the text. */
function inlineBase(base: string | undefined): Buffer {
  if (base === undefined) throw new Error('a record without a base code needs its base inline');
  const text = Buffer.from(base, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(text.length);
  return Buffer.concat([len, text]);
}

export function encodeRecord(f: RecordFields): Buffer {
  const packed = packToken(f.token);
  const token = f.baseCode === NO_BASE ? Buffer.concat([inlineBase(f.inlineBase), packed]) : packed;
  const rec = Buffer.alloc(HEAD + f.topicIds.length * 2 + token.length);
  rec[0] = V2;
  f.p256dh.copy(rec, 1);
  f.auth.copy(rec, 66);
  rec.writeUInt16BE(f.baseCode, 82);
  rec[84] = f.topicIds.length;
  f.topicIds.forEach((t, i) => rec.writeUInt16BE(t, HEAD + i * 2));
  token.copy(rec, HEAD + f.topicIds.length * 2);
  return rec;
}

/** Which endpoint base a record names, without decoding the rest. */
export const baseCodeOf = (rec: Buffer): number => rec.readUInt16BE(82);

/**
 * The record's fields; `rest` is what follows the base: the token (v2) or the path after the
 * origin (v1), or the whole endpoint when the base is inline (baseCode NO_BASE).
 */
export function decodeRecord(rec: Buffer): { p256dh: Buffer; auth: Buffer; baseCode: number; topicIds: number[]; rest: string } {
  const n = rec[84];
  const topicIds: number[] = [];
  for (let i = 0; i < n; i++) topicIds.push(rec.readUInt16BE(HEAD + i * 2));
  const tail = rec.subarray(HEAD + n * 2);
  const baseCode = rec.readUInt16BE(82);
  let rest: string;
  if (rec[0] === V1) rest = tail.toString('utf8');
  else if (baseCode !== NO_BASE) rest = unpackToken(tail);
  else {
    const len = tail.readUInt16BE(0);
    rest = tail.subarray(2, 2 + len).toString('utf8') + unpackToken(tail.subarray(2 + len));
  }
  return { p256dh: Buffer.from(rec.subarray(1, 66)), auth: Buffer.from(rec.subarray(66, 82)), baseCode, topicIds, rest };
}
