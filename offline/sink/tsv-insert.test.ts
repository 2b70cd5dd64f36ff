// The INSERT body from buffered blocks: each line once, in order, ended by the flush's
// suffix, across block and ~1 MiB piece boundaries, UTF-8 as strings would encode it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { lineBlock, tsvPieces } from './tsv-insert.js';

const body = (blocks: Buffer[], suffix: string): string => Buffer.concat([...tsvPieces(blocks, suffix)]).toString('utf8');

test('every line of every block, in order, ended by the suffix', () => {
  fc.assert(fc.property(fc.array(fc.array(fc.string({ unit: 'grapheme', minLength: 1 }).map((s) => s.replace(/\n/g, ' ')), { maxLength: 20 }), { maxLength: 8 }), (groups) => {
    const suffix = '\t1717243200000\n';
    assert.equal(body(groups.map(lineBlock), suffix), groups.flat().map((l) => l + suffix).join(''));
  }));
});

test('bodies over one piece: pieces of at most 1 MiB (or one line), nothing lost at the seams', () => {
  const lines = Array.from({ length: 30_000 }, (_, i) => `${i}\t${'é'.repeat(i % 50)}\tx`);
  const blocks = [lineBlock(lines.slice(0, 12_345)), lineBlock([]), lineBlock(lines.slice(12_345))];
  const pieces = [...tsvPieces(blocks, '\t7\n')];
  assert.ok(pieces.length > 1 && pieces.every((p) => p.length <= 1 << 20));
  assert.equal(Buffer.concat(pieces).toString(), lines.map((l) => `${l}\t7\n`).join(''));
  const long = 'y'.repeat(1_500_000);
  assert.deepStrictEqual([...tsvPieces([lineBlock(['a', long, 'b'])], '\t7\n')].map((p) => p.length), [4, long.length + 3, 4]);
});

test('a lone surrogate becomes U+FFFD, as a string body encoded it', () => {
  assert.equal(body([lineBlock(['a\ud800b'])], '\t1\n'), 'a\ufffdb\t1\n');
});
