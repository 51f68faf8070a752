// Small helpers over bitmaps as Redis stores them: bit 0 is the high bit of byte 0.

export function popcount(bits: Buffer): number {
  let n = 0;
  for (const byte of bits) {
    let b = byte;
    while (b) { b &= b - 1; n++; }
  }
  return n;
}

export function bitmapOf(ids: readonly number[]): Buffer {
  const out = Buffer.alloc(ids.length === 0 ? 0 : (Math.max(...ids) >> 3) + 1);
  for (const id of ids) out[id >> 3]! |= 0x80 >> (id & 7);
  return out;
}

export function orInto(a: Buffer | undefined, b: Buffer): Buffer {
  if (!a) return b;
  const out = Buffer.alloc(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) | (b[i] ?? 0);
  return out;
}
