// Scalars of the binding schema. DateTime is ISO-8601 with a time zone (or a date, read as
// UTC midnight); epoch milliseconds are accepted too, as models often hold them. Inside the
// API a DateTime is an epoch-ms number; outside it is always `YYYY-MM-DDTHH:mm:ss.sssZ`.
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/i;
/** 0001-01-01 .. 9999-12-31 */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;

function bad(value: unknown, why: string): GraphQLError {
  return new GraphQLError(`DateTime cannot represent ${JSON.stringify(value)}: ${why}`, { extensions: { code: 'BAD_USER_INPUT' } });
}

/** ISO-8601 string or epoch ms -> epoch ms (sub-millisecond digits are truncated). */
export function parseDateTime(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_MS) throw bad(value, 'epoch milliseconds must be a non-negative integer');
    return value;
  }
  if (typeof value !== 'string') throw bad(value, 'expected an ISO-8601 string such as "2024-03-01T12:00:00Z"');
  const m = ISO.exec(value.trim());
  if (m === null) {
    const hint = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value.trim()) ? 'add a time zone (Z or +hh:mm)' : 'expected ISO-8601 such as "2024-03-01T12:00:00Z"';
    throw bad(value, hint);
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const ms = frac.padEnd(3, '0').slice(0, 3);
  const tz = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const text = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${tz}`;
  const t = Date.parse(text);
  // Date.parse rolls 2024-02-30 over to March: compare the fields back to reject it.
  const probe = new Date(t + (tz === 'Z' ? 0 : offsetMs(tz)));
  if (!Number.isFinite(t) || probe.getUTCDate() !== Number(d) || probe.getUTCMonth() + 1 !== Number(mo) || Number(h) > 23 || Number(s) > 59) {
    throw bad(value, 'not a valid calendar date and time');
  }
  if (t < MIN_MS || t > MAX_MS) throw bad(value, 'out of range');
  return t;
}

function offsetMs(tz: string): number {
  const sign = tz.startsWith('-') ? -1 : 1;
  return sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000;
}

// The rows of one response share their asOf: remember the last one formatted.
let lastMs = NaN;
let lastText = '';

export function formatDateTime(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}

export const DateTimeScalar = new GraphQLScalarType<number, string>({
  name: 'DateTime',
  description: 'A point in time: ISO-8601 with a time zone, e.g. "2024-03-01T12:00:00.000Z" (always UTC on output). Inputs may also be epoch milliseconds.',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'number' && Number.isFinite(value)) return formatDateTime(value);
    if (typeof value === 'string') return formatDateTime(parseDateTime(value));
    throw new GraphQLError(`DateTime cannot serialize ${String(value)}`);
  },
  parseValue: parseDateTime,
  parseLiteral(ast: ValueNode) {
    if (ast.kind === Kind.STRING) return parseDateTime(ast.value);
    if (ast.kind === Kind.INT) return parseDateTime(Number(ast.value));
    throw bad(ast.kind, 'expected a string or an integer literal');
  },
});

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING: case Kind.BOOLEAN: return ast.value;
    case Kind.INT: case Kind.FLOAT: return Number(ast.value);
    case Kind.NULL: return null;
    case Kind.ENUM: return ast.value;
    case Kind.LIST: return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT: return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE: return variables?.[ast.name.value];
  }
}

export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value (feature values: numbers, strings, lists, or null).',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});
