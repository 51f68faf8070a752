// Small helpers over bitmaps as Redis stores them: bit 0 is the high bit of byte 0.

/** Bits set. 32 bits at a time (a million-subscriber audience in ~0.1 ms, not 5 ms). */
export function popcount(bits: Buffer): number {
  let n = 0;
  let i = 0;
  for (; i + 4 <= bits.length; i += 4) {
    let v = bits.readUInt32LE(i);
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  for (; i < bits.length; i++) {
    let b = bits[i];
    while (b) {
      b &= b - 1;
      n++;
    }
  }
  return n;
}

export function bitmapOf(ids: readonly number[]): Buffer {
  const out = Buffer.alloc(ids.length === 0 ? 0 : (Math.max(...ids) >> 3) + 1);
  for (const id of ids) out[id >> 3] |= 0x80 >> (id & 7);
  return out;
}

export function orInto(a: Buffer | undefined, b: Buffer): Buffer {
  if (!a) return b;
  const out = Buffer.alloc(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) | (b[i] ?? 0);
  return out;
}

/** a AND NOT b, as long as a (ids beyond b's end are kept). */
export function andNot(a: Buffer, b: Buffer): Buffer {
  if (b.length === 0) return a;
  const out = Buffer.from(a);
  for (let i = 0; i < Math.min(a.length, b.length); i++) out[i] &= ~b[i];
  return out;
}
