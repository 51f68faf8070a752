// Bitmap helpers: the fast popcount agrees with counting bit by bit, whatever the length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bitmapOf, popcount } from '../src/bits';

test('popcount counts every set bit, 32 at a time and in the tail', () => {
  const oneByOne = (b: Buffer) => [...b].reduce((n, byte) => n + byte.toString(2).replaceAll('0', '').length, 0);
  for (const len of [0, 1, 3, 4, 5, 7, 8, 9, 1021, 125_003]) {
    const b = randomBytes(len);
    assert.equal(popcount(b), oneByOne(b), `${len} bytes`);
  }
  assert.equal(popcount(Buffer.alloc(125_000, 0xff)), 1_000_000);
  assert.equal(popcount(bitmapOf([1, 9, 999_999])), 3);
});
