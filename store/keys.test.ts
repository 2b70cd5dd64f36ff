// Every key of one entity must land in one Redis Cluster slot (one Lua script touches them
// all), and different entities must never share a key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeySpace } from './keys.js';

/** The part of a key Redis Cluster hashes: the first {...} with something inside, else the key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

const keys = new KeySpace('ts');
const allKeys = (entity: 'user' | 'item', id: string) => [
  keys.meta(entity, id), keys.tiles(entity, id, 60_000), keys.tiles(entity, id, 3_600_000), keys.tileIndex(entity, id, 300_000),
];

test('all keys of an entity share one hash tag, whatever the id (braces, percent, unicode)', () => {
  fc.assert(fc.property(fc.constantFrom('user' as const, 'item' as const), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), (entity, id) => {
    const tags = new Set(allKeys(entity, id).map(hashTag));
    assert.equal(tags.size, 1);
  }), { numRuns: 2_000 });
});

test('different entities never share a key', () => {
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ minLength: 1, maxLength: 12 }), (a, b) => {
    fc.pre(a !== b);
    const ka = new Set([...allKeys('user', a), ...allKeys('item', a)]);
    for (const k of [...allKeys('user', b), ...allKeys('item', b)]) assert.ok(!ka.has(k));
    assert.notEqual(keys.meta('user', a), keys.meta('item', a));
  }), { numRuns: 2_000 });
});

test('ids with braces are escaped so the tag is exactly the entity', () => {
  assert.equal(hashTag(keys.meta('user', 'a}b{c')), 'u:a%7Db%7Bc');
});
