// packStrings (the backfill's field lists for replace-entity.lua): any list of
// strings, ASCII or not, short or long, packs to MessagePack that decodes to the same list
// (msgpackr, the format Redis's cmsgpack reads; the Redis tests read them back through it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { unpack } from 'msgpackr';
import { packStrings } from './pack-strings.js';

const arbText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !/[\uD800-\uDFFF]/.test(s)), // (lone surrogates are not text)
  fc.integer({ min: 0, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 0, max: 300 }).map((n) => 'é'.repeat(n)),
  fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c).repeat(3)),
);

test('property: packStrings decodes to the same strings, ASCII fast path or not', () => {
  fc.assert(fc.property(fc.array(arbText, { maxLength: 40 }), (list) => {
    assert.deepStrictEqual(unpack(packStrings(list)), list);
  }), { numRuns: 500 });
});

test('packStrings: field lists of the backfill take the ASCII path and equal msgpackr\'s array', () => {
  const list = ['gwqg0:d6odf:t', '1704067200000,0,1', 'gwqg0:k2x9a:d:c12', '1', 'a'.repeat(300)];
  assert.deepStrictEqual(unpack(packStrings(list)), list);
  assert.deepStrictEqual(unpack(packStrings([])), []);
});
