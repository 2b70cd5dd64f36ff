// The one door through which values enter SQL. ClickHouse 18.16 has no server-side query
// parameters ({x:Type}), so every literal and identifier is rendered here, validated, and
// wrapped in an `Sql` fragment. The `sql` tagged template accepts nothing but fragments,
// so a query is never assembled by pasting strings. Pure: no I/O.
//
//   sql`SELECT count() FROM ${table(db, 'events')} WHERE user_id = ${str(id)} AND event_time < ${uint64(t)}`

export class SqlValueError extends Error {
  override name = 'SqlValueError';
}

let makeSql: (text: string) => Sql;

/** A piece of SQL text that is safe by construction. Only this module can create one. */
export class Sql {
  readonly #text: string;
  private constructor(text: string) {
    this.#text = text;
  }
  static {
    makeSql = (text) => new Sql(text);
  }
  /** The SQL text, to hand to the client (`client.query({ query: q.text })`). */
  get text(): string {
    return this.#text;
  }
  toString(): string {
    return this.#text;
  }
  static is(value: unknown): value is Sql {
    return typeof value === 'object' && value !== null && #text in value;
  }
}

// --- strings -------------------------------------------------------------------------

const ESCAPES: Record<string, string> = {
  '\\': '\\\\', "'": "\\'", '\0': '\\0', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t',
};
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\'\x00-\x1f\x7f]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * A string literal. Backslash, quote and every control character are escaped (`\\`, `\'`,
 * `\n`, `\xHH`, ...); other characters go through as UTF-8. A string holding a lone UTF-16
 * surrogate has no UTF-8 form and is refused (normalise it first, e.g. with `wellFormed`).
 */
export function str(value: string): Sql {
  if (typeof value !== 'string') throw new SqlValueError(`str(): expected a string, got ${describe(value)}`);
  if (LONE_SURROGATE.test(value)) throw new SqlValueError('str(): the string holds a lone UTF-16 surrogate, which has no UTF-8 form');
  return makeSql(`'${value.replace(NEEDS_ESCAPE, (c) => ESCAPES[c] ?? `\\x${hex2(c.charCodeAt(0))}`)}'`);
}

/** A String literal holding exactly these bytes (every byte as `\xHH`), for binary payloads. */
export function bytes(value: Uint8Array): Sql {
  if (!(value instanceof Uint8Array)) throw new SqlValueError(`bytes(): expected a Uint8Array, got ${describe(value)}`);
  let out = "'";
  for (const b of value) out += `\\x${hex2(b)}`;
  return makeSql(`${out}'`);
}

/** Replaces lone UTF-16 surrogates with U+FFFD, as every UTF-8 encoder does. */
export function wellFormed(value: string): string {
  return value.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
}

// --- identifiers -----------------------------------------------------------------------

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,199}$/;

export function isIdentifier(name: unknown): name is string {
  return typeof name === 'string' && IDENT.test(name);
}

/** A backquoted identifier; only `[A-Za-z_][A-Za-z0-9_]*` (up to 200 characters) is accepted. */
export function ident(name: string): Sql {
  if (!isIdentifier(name)) throw new SqlValueError(`ident(): ${JSON.stringify(name)} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  return makeSql(`\`${name}\``);
}

/** `db`.`name`: a table, view or dictionary in a database. */
export function table(database: string, name: string): Sql {
  return makeSql(`${ident(database).text}.${ident(name).text}`);
}

// --- numbers ---------------------------------------------------------------------------

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const DECIMAL = /^-?(0|[1-9][0-9]*)$/;

export type IntegerInput = number | bigint | string;

function toBigInt(value: IntegerInput, fn: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new SqlValueError(`${fn}(): ${value} is not a safe integer (pass a bigint or a decimal string)`);
    return BigInt(value);
  }
  if (typeof value === 'string' && DECIMAL.test(value)) return BigInt(value);
  throw new SqlValueError(`${fn}(): ${describe(value)} is not an integer`);
}

function integer(v: bigint): Sql {
  // Negative numbers are parenthesised so `a-${int64(-1)}` can never become a `--` comment.
  return makeSql(v < 0n ? `(${v})` : `${v}`);
}

/** An unsigned 64-bit integer literal (number must be a safe integer; bigint or decimal string for more). */
export function uint64(value: IntegerInput): Sql {
  const v = toBigInt(value, 'uint64');
  if (v < 0n || v > UINT64_MAX) throw new SqlValueError(`uint64(): ${v} is out of range`);
  return integer(v);
}

/** A signed 64-bit integer literal. */
export function int64(value: IntegerInput): Sql {
  const v = toBigInt(value, 'int64');
  if (v < INT64_MIN || v > INT64_MAX) throw new SqlValueError(`int64(): ${v} is out of range`);
  return integer(v);
}

const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * A Float64 literal: finite numbers only. Subnormal numbers (|x| < 2.2e-308, not 0) are
 * refused because ClickHouse 18.16's parser rejects them as a syntax error.
 */
export function float64(value: number): Sql {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SqlValueError(`float64(): ${describe(value)} is not a finite number`);
  if (value !== 0 && Math.abs(value) < MIN_NORMAL) throw new SqlValueError(`float64(): ${value} is subnormal, which ClickHouse 18.16 cannot parse`);
  let text = String(Math.abs(value));
  if (/^[0-9]+$/.test(text)) text += '.0'; // keep the literal a Float64, not an integer type
  return makeSql(value < 0 || Object.is(value, -0) ? `(-${text})` : text);
}

/** 1 or 0 (ClickHouse has no boolean type on 18.16). */
export function bool(value: boolean): Sql {
  if (typeof value !== 'boolean') throw new SqlValueError(`bool(): expected a boolean, got ${describe(value)}`);
  return makeSql(value ? '1' : '0');
}

export const NULL: Sql = makeSql('NULL');

// --- composites ------------------------------------------------------------------------

function checkAll(items: readonly Sql[], fn: string): void {
  if (!Array.isArray(items)) throw new SqlValueError(`${fn}(): expected an array of Sql fragments`);
  items.forEach((x, i) => {
    if (!Sql.is(x)) throw new SqlValueError(`${fn}(): item ${i} is ${describe(x)}, not an Sql fragment`);
  });
}

/** Fragments joined by a separator fragment (default `, `). */
export function join(items: readonly Sql[], separator: Sql = COMMA): Sql {
  checkAll(items, 'join');
  if (!Sql.is(separator)) throw new SqlValueError('join(): the separator must be an Sql fragment');
  return makeSql(items.map((x) => x.text).join(separator.text));
}
const COMMA: Sql = makeSql(', ');

/** `[a, b, ...]` */
export function array(items: readonly Sql[]): Sql {
  checkAll(items, 'array');
  return makeSql(`[${join(items).text}]`);
}

/** `(a, b, ...)`; one element renders as `tuple(a)`. */
export function tuple(items: readonly Sql[]): Sql {
  checkAll(items, 'tuple');
  if (items.length === 0) throw new SqlValueError('tuple(): a tuple needs at least one element');
  return makeSql(items.length === 1 ? `tuple(${join(items).text})` : `(${join(items).text})`);
}

/** The right side of `x IN ...`: `(a, b, ...)`; must not be empty. */
export function inList(items: readonly Sql[]): Sql {
  checkAll(items, 'inList');
  if (items.length === 0) throw new SqlValueError('inList(): IN () is not valid SQL; handle the empty case before querying');
  return makeSql(`(${join(items).text})`);
}

export type LiteralValue = string | number | bigint | boolean | null | Uint8Array | readonly LiteralValue[];

/**
 * Picks the literal for a JS value: string -> str, integer number -> int64, other number ->
 * float64, bigint -> int64 (uint64 above the Int64 range), boolean -> 1/0, null -> NULL,
 * Uint8Array -> bytes, array -> array of literals.
 */
export function literal(value: LiteralValue): Sql {
  if (value === null) return NULL;
  if (Array.isArray(value)) return array(value.map((v: LiteralValue) => literal(v)));
  switch (typeof value) {
    case 'string': return str(value);
    case 'boolean': return bool(value);
    case 'bigint': return value > INT64_MAX ? uint64(value) : int64(value);
    case 'number': return Number.isSafeInteger(value) ? int64(value) : float64(value);
    default:
      if (value instanceof Uint8Array) return bytes(value);
      throw new SqlValueError(`literal(): cannot render ${describe(value)}`);
  }
}

// --- the template ----------------------------------------------------------------------

type ScanState = 'code' | "'" | '`' | '"' | 'line' | 'block';

/** Follows quotes and comments through static template text; returns the state at its end. */
function scan(text: string, start: ScanState): ScanState {
  let state = start;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const next = text[i + 1];
    switch (state) {
      case 'code':
        if (c === "'" || c === '`' || c === '"') state = c;
        else if (c === '-' && next === '-') { state = 'line'; i++; }
        else if (c === '/' && next === '*') { state = 'block'; i++; }
        break;
      case 'line':
        if (c === '\n') state = 'code';
        break;
      case 'block':
        if (c === '*' && next === '/') { state = 'code'; i++; }
        break;
      default: // inside a quoted string or identifier
        if (c === '\\') i++;
        else if (c === state) {
          if (next === state) i++; // doubled quote
          else state = 'code';
        }
    }
  }
  return state;
}

function isTemplate(strings: unknown): strings is TemplateStringsArray {
  return Array.isArray(strings) && Object.isFrozen(strings) && Array.isArray((strings as { raw?: unknown }).raw);
}

/**
 * The tagged template: static SQL text with `Sql` fragments interpolated. Anything else
 * (a string, a number, an object) is refused, and so is a fragment placed inside a quoted
 * string, a quoted identifier or a comment of the static text.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly Sql[]): Sql {
  if (!isTemplate(strings)) throw new SqlValueError('sql must be used as a tagged template: sql`...`');
  let out = '';
  let state: ScanState = 'code';
  for (let i = 0; i < strings.length; i++) {
    const part = strings[i];
    if (part === undefined) throw new SqlValueError('sql``: invalid escape sequence in the template text');
    out += part;
    state = scan(part, state);
    if (i < values.length) {
      const value = values[i];
      if (!Sql.is(value)) {
        throw new SqlValueError(`sql\`\`: value #${i + 1} is ${describe(value)}, not an Sql fragment; wrap it with str(), ident(), uint64(), int64(), float64(), ...`);
      }
      if (state !== 'code') throw new SqlValueError(`sql\`\`: value #${i + 1} is placed inside a ${state === 'line' || state === 'block' ? 'comment' : `${state}-quoted text`}`);
      out += value.text;
    }
  }
  if (state === "'" || state === '`' || state === '"' || state === 'block') throw new SqlValueError('sql``: unterminated quote or comment in the template text');
  return makeSql(out);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `${typeof value} ${String(value)}`;
}

/**
 * A column type read from system.columns (e.g. `Nullable(Float64)`, `Array(String)`), for
 * copying a column into new DDL. Only names, digits, commas, spaces and balanced
 * parentheses: types with quoted parts (Enum) are refused rather than escaped.
 */
export function columnType(type: string): Sql {
  let depth = 0;
  for (const c of type) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0 || !/^[A-Za-z][A-Za-z0-9_]*(\([A-Za-z0-9_, ()]*\))?$/.test(type)) throw new SqlValueError(`not a plain column type: ${JSON.stringify(type)}`);
  return makeSql(type);
}
