// Pure checks of the quoting functions: every rendered literal is one token that decodes
// (by ClickHouse's escape rules) back to the input, for 10,000+ hostile strings; numbers and
// identifiers are validated; the template takes nothing but fragments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { anyUtf16, hostileString, INJECTION_PAYLOADS } from './sql-arbitraries.js';
import {
  array, bool, bytes, float64, ident, inList, int64, join, literal, NULL, sql, Sql, SqlValueError, str, table, tuple, uint64, wellFormed,
} from './sql.js';

const SIMPLE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v' };

/**
 * Reads one quoted string literal the way ClickHouse's lexer and parser do, returning the
 * decoded UTF-16 string and where the literal ended.
 */
function readLiteral(text: string): { value: string; end: number } {
  assert.equal(text[0], "'");
  const bytesOut: number[] = [];
  const push = (s: string): void => { bytesOut.push(...Buffer.from(s, 'utf8')); };
  let i = 1;
  for (;;) {
    const c = text[i];
    if (c === undefined) throw new Error('unterminated literal');
    if (c === "'") return { value: Buffer.from(bytesOut).toString('utf8'), end: i + 1 };
    if (c === '\\') {
      const e = text[i + 1];
      if (e === undefined) throw new Error('dangling backslash');
      if (e === 'x') {
        bytesOut.push(parseInt(text.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        push(SIMPLE[e] ?? e);
        i += 2;
      }
    } else {
      const cp = text.codePointAt(i) ?? 0;
      push(String.fromCodePoint(cp));
      i += cp > 0xffff ? 2 : 1;
    }
  }
}

test('str(): 10,000 hostile strings decode back exactly and stay one token', () => {
  let runs = 0;
  fc.assert(fc.property(hostileString(60), (s) => {
    runs++;
    const lit = str(s).text;
    const { value, end } = readLiteral(lit);
    assert.equal(value, s);
    assert.equal(end, lit.length, 'the literal ends exactly at its closing quote');
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(lit, /[\x00-\x1f\x7f]/, 'no raw control characters');
  }), { numRuns: 10_000 });
  assert.equal(runs, 10_000);
});

test('str(): embedded in a statement, a payload never ends the literal early', () => {
  fc.assert(fc.property(fc.array(hostileString(20), { minLength: 1, maxLength: 5 }), (parts) => {
    const q = sql`SELECT ${str(parts.join(''))} = ${str(parts.join(''))}`.text;
    const first = readLiteral(q.slice('SELECT '.length));
    const rest = q.slice('SELECT '.length + first.end);
    assert.ok(rest.startsWith(' = '));
    const second = readLiteral(rest.slice(3));
    assert.equal(second.end, rest.length - 3);
  }), { numRuns: 2_000 });
  for (const p of INJECTION_PAYLOADS) assert.equal(readLiteral(str(p).text).value, p);
});

test('str(): refuses lone surrogates and non-strings; wellFormed() repairs them', () => {
  assert.throws(() => str('a\uD800b'), SqlValueError);
  assert.throws(() => str('\uDC00'), SqlValueError);
  assert.equal(str('\uD83D\uDE00').text, "'😀'");
  assert.throws(() => str(1 as unknown as string), SqlValueError);
  assert.equal(wellFormed('a\uD800b\uDC00\uD83D\uDE00'), 'a\uFFFDb\uFFFD\uD83D\uDE00');
  fc.assert(fc.property(anyUtf16, (s) => {
    const w = wellFormed(s);
    assert.equal(w.length, s.length);
    assert.equal(readLiteral(str(w).text).value, w);
    assert.equal(Buffer.from(w, 'utf8').toString('utf8'), w);
  }), { numRuns: 2_000 });
});

test('str(): exact escapes', () => {
  assert.equal(str("it's \\ a\n\0\x01\x7f").text, "'it\\'s \\\\ a\\n\\0\\x01\\x7f'");
  assert.equal(str('').text, "''");
});

test('bytes(): every byte as \\xHH', () => {
  assert.equal(bytes(new Uint8Array([0, 0x27, 0xff])).text, "'\\x00\\x27\\xff'");
  fc.assert(fc.property(fc.uint8Array({ maxLength: 50 }), (b) => {
    const lit = bytes(b).text;
    assert.match(lit, /^'(\\x[0-9a-f]{2})*'$/);
  }));
});

test('ident() and table(): strict identifiers, backquoted', () => {
  assert.equal(ident('events').text, '`events`');
  assert.equal(ident('_a1').text, '`_a1`');
  assert.equal(table('tessera', 'events').text, '`tessera`.`events`');
  for (const bad of ['', '1a', 'a-b', 'a b', 'a`b', 'a.b', "a'", 'é', 'a\n', 'x'.repeat(201)]) {
    assert.throws(() => ident(bad), SqlValueError, bad);
  }
  fc.assert(fc.property(hostileString(10), (s) => {
    let ok = true;
    try { ident(s); } catch { ok = false; }
    assert.equal(ok, /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && s.length <= 200);
  }), { numRuns: 2_000 });
});

test('uint64() and int64(): validated integers, negatives parenthesised', () => {
  assert.equal(uint64(0).text, '0');
  assert.equal(uint64('18446744073709551615').text, '18446744073709551615');
  assert.equal(uint64(2n ** 64n - 1n).text, '18446744073709551615');
  assert.throws(() => uint64(2n ** 64n), SqlValueError);
  assert.throws(() => uint64(-1), SqlValueError);
  assert.throws(() => uint64(1.5), SqlValueError);
  assert.throws(() => uint64(2 ** 53), SqlValueError, 'unsafe numbers are refused');
  assert.throws(() => uint64('1e3'), SqlValueError);
  assert.throws(() => uint64('01'), SqlValueError);
  assert.throws(() => uint64(' 1'), SqlValueError);
  assert.throws(() => uint64('1; DROP TABLE x'), SqlValueError);
  assert.equal(int64(-5).text, '(-5)');
  assert.equal(int64('-9223372036854775808').text, '(-9223372036854775808)');
  assert.throws(() => int64(2n ** 63n), SqlValueError);
  assert.throws(() => int64(-(2n ** 63n) - 1n), SqlValueError);
  assert.equal(sql`1-${int64(-1)}`.text, '1-(-1)');
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
    assert.equal(BigInt(int64(n).text.replace(/[()]/g, '')), n);
  }));
});

test('float64(): finite only, shortest round-trip text, always a float literal', () => {
  assert.equal(float64(1).text, '1.0');
  assert.equal(float64(0.1).text, '0.1');
  assert.equal(float64(-2.5).text, '(-2.5)');
  assert.equal(float64(-0).text, '(-0.0)');
  assert.equal(float64(1e21).text, '1e+21');
  assert.equal(float64(2.2250738585072014e-308).text, '2.2250738585072014e-308');
  for (const bad of [NaN, Infinity, -Infinity, 5e-324, -1e-310]) assert.throws(() => float64(bad), SqlValueError);
  assert.throws(() => float64('1' as unknown as number), SqlValueError);
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
    if (x !== 0 && Math.abs(x) < 2.2250738585072014e-308) return;
    assert.ok(Object.is(Number(float64(x).text.replace(/[()]/g, '')), x));
  }), { numRuns: 2_000 });
});

test('composites: array, tuple, inList, join, literal, bool, NULL', () => {
  assert.equal(array([str('a'), uint64(1)]).text, "['a', 1]");
  assert.equal(array([]).text, '[]');
  assert.equal(tuple([str('a'), int64(-1)]).text, "('a', (-1))");
  assert.equal(tuple([str('a')]).text, "tuple('a')");
  assert.throws(() => tuple([]), SqlValueError);
  assert.equal(inList([str('a'), str('b')]).text, "('a', 'b')");
  assert.throws(() => inList([]), SqlValueError);
  assert.equal(join([ident('a'), ident('b')], sql` AND `).text, '`a` AND `b`');
  assert.throws(() => array(['a' as unknown as Sql]), SqlValueError);
  assert.equal(literal(['x', 1, 1.5, null, true, 2n ** 64n - 1n, -3n, new Uint8Array([1])]).text,
    "['x', 1, 1.5, NULL, 1, 18446744073709551615, (-3), '\\x01']");
  assert.equal(bool(false).text, '0');
  assert.equal(NULL.text, 'NULL');
});

test('sql``: only fragments, only at code positions', () => {
  const q = sql`SELECT ${ident('a')} FROM ${table('d', 't')} WHERE x = ${str("o'k")} -- done`;
  assert.equal(q.text, "SELECT `a` FROM `d`.`t` WHERE x = 'o\\'k' -- done");
  assert.equal(sql`SELECT ${sql`1 + ${uint64(2)}`}`.text, 'SELECT 1 + 2', 'fragments nest');
  const bad = [
    (): Sql => sql`SELECT ${'1; DROP TABLE t' as unknown as Sql}`,
    (): Sql => sql`SELECT ${1 as unknown as Sql}`,
    (): Sql => sql`SELECT ${{ text: '1' } as unknown as Sql}`,
    (): Sql => sql`SELECT '${str('a')}'`,
    (): Sql => sql`SELECT \`${ident('a')}\``,
    (): Sql => sql`SELECT "${ident('a')}"`,
    (): Sql => sql`SELECT 1 -- ${str('a')}`,
    (): Sql => sql`SELECT 1 /* ${str('a')} */`,
    (): Sql => sql`SELECT 'unterminated`,
    (): Sql => sql(['SELECT ', ''] as unknown as TemplateStringsArray, str('x')),
  ];
  for (const f of bad) assert.throws(f, SqlValueError);
  assert.equal(sql`SELECT 'it''s', '\\'', ${str('x')}`.text, "SELECT 'it''s', '\\'', 'x'", 'quotes in static text are followed');
  assert.equal(sql`SELECT 1 /* c */ + ${uint64(1)} -- c\n`.text, 'SELECT 1 /* c */ + 1 -- c\n');
});

test('Sql cannot be forged', () => {
  assert.equal(Sql.is({ text: 'x' }), false);
  assert.equal(Sql.is(str('x')), true);
  assert.equal(`${str('x')}`, "'x'");
});
