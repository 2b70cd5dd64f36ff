// fast-check generators for hostile SQL input, shared by sql.test.ts and
// sql.clickhouse.test.ts: quotes, backslashes, control characters, every Unicode plane and
// classic injection payloads, mixed together.
import fc from 'fast-check';

export const INJECTION_PAYLOADS = [
  "'", "''", "\\'", "\\\\'", "' OR 1=1 --", "'; DROP TABLE events; --", "\\'; DROP TABLE events; --",
  "' UNION SELECT * FROM system.users --", '`', '"', '--', '/*', '*/', ';', "\\x27", '\\0', '\\',
  "'\n; SELECT 1", "\u2028'", "\\\u0000'", "')) FORMAT TSV --", '{x:String}', '$$', '?', "%27",
  "' FORMAT JSONEachRow SETTINGS max_threads=1 --",
];

const specialUnit = fc.constantFrom(
  "'", '\\', '"', '`', ';', '-', '/', '*', '\0', '\n', '\r', '\t', '\b', '\f', '\v', '\x1a', '\x1b', '\x7f',
  '\u0080', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffd', '\uffff', 'x', '0', 'é', '\u0301', '😀', '\u{10ffff}',
);

/** One "character": a special one, a random control/ASCII char, a random code point, or a whole payload. */
export const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: specialUnit },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...INJECTION_PAYLOADS) },
);

/** Strings without lone surrogates (what str() accepts). */
export function hostileString(maxLength = 40): fc.Arbitrary<string> {
  return fc.string({ unit: hostileUnit, maxLength });
}

/** Any UTF-16 string, lone surrogates included. */
export const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 });
