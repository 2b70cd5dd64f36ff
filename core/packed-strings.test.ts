// core/packed-strings.ts: any list of strings (empty, long, non-ASCII, astral, newlines)
// packs into MessagePack that a generic decoder (msgpackr) and unpackStrings read back
// equal, also when a scratch PackedStrings is reused and grows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { unpack } from 'msgpackr';
import { PackedStrings, PackedStringsError, unpackStrings } from './packed-strings.js';

const arbText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: 'binary', maxLength: 120 }).filter((s) => !/[\uD800-\uDFFF]/.test(s)), // (lone surrogates: not text)
  fc.integer({ min: 0, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 80, max: 90 }).map((n) => 'é'.repeat(n)),
);

test('property: packed strings read back equal, through msgpackr and unpackStrings, across reuses of one packer', () => {
  const out = new PackedStrings();
  fc.assert(fc.property(fc.array(fc.array(arbText, { maxLength: 30 }), { minLength: 1, maxLength: 4 }), (lists) => {
    for (const list of lists) {
      for (const s of list) out.add(s);
      assert.equal(out.count, list.length);
      const bytes = out.finish();
      assert.deepStrictEqual(unpack(bytes), list);
      assert.deepStrictEqual(unpackStrings(bytes), list);
      assert.equal(out.count, 0);
    }
  }), { numRuns: 300 });
});

test('unpackStrings refuses what PackedStrings never writes', () => {
  const out = new PackedStrings();
  out.add('abc');
  const bytes = out.finish();
  assert.throws(() => unpackStrings(bytes.subarray(0, bytes.length - 1)), PackedStringsError);
  assert.throws(() => unpackStrings(Buffer.concat([bytes, Buffer.from([0])])), PackedStringsError);
  assert.throws(() => unpackStrings(Buffer.from([0x91, 0xa1, 0x61])), PackedStringsError);
});
