// Watching the SQL the API sends to ClickHouse during the API fuzz suite
// (api/fuzz.clickhouse.test.ts): a real ClickHouse client wrapped so every statement is
// recorded with its outcome, and a small ClickHouse lexer that proves a statement is one
// statement with every hostile value inside a string literal.
//
// ClickHouse 18.16 has no query_log in the local stack's config, so the record is taken at
// the client: the same text ClickHouse received.
import type { ClickHouseClient } from '@clickhouse/client';

export interface SqlRecord {
  method: string;
  sql: string;
  /** the error ClickHouse (or the connection) gave, if any */
  error?: string;
}

type Call = (params: { query?: string; table?: string }) => Promise<unknown>;
const RECORDED = new Set(['query', 'command', 'exec', 'insert']);

/** The client, recording every statement into `log`. */
export function recordingClient(inner: ClickHouseClient, log: SqlRecord[]): ClickHouseClient {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !RECORDED.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      const call = (value as Call).bind(target);
      return async (params: { query?: string; table?: string }) => {
        const record: SqlRecord = { method: prop, sql: params.query ?? `INSERT INTO ${params.table ?? '?'}` };
        log.push(record);
        try {
          return await call(params);
        } catch (error) {
          record.error = error instanceof Error ? error.message : String(error);
          throw error;
        }
      };
    },
  });
}

export interface Lexed {
  /** the statement's shape: every literal and quoted identifier replaced by a marker */
  code: string;
  /** the decoded contents of the string literals */
  literals: string[];
  problems: string[];
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v', e: '\x1b' };

/** Splits ClickHouse SQL into code and literals ('...', `...`, "..."), decoding escapes as ClickHouse does. */
export function lexSql(sql: string): Lexed {
  const literals: string[] = [];
  const problems: string[] = [];
  let code = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    if (ch === "'" || ch === '`' || ch === '"') {
      let value = '';
      let j = i + 1;
      let closed = false;
      while (j < sql.length) {
        const c = sql[j] as string;
        if (c === '\\') {
          const n = sql[j + 1] ?? '';
          if (n === 'x' && /^[0-9A-Fa-f]{2}$/.test(sql.slice(j + 2, j + 4))) {
            value += String.fromCharCode(parseInt(sql.slice(j + 2, j + 4), 16));
            j += 4;
          } else {
            value += ESCAPES[n] ?? n;
            j += 2;
          }
        } else if (c === ch && sql[j + 1] === ch) {
          value += ch;
          j += 2;
        } else if (c === ch) {
          closed = true;
          j += 1;
          break;
        } else {
          value += c;
          j += 1;
        }
      }
      if (!closed) problems.push(`unterminated ${ch} literal at ${i}`);
      if (ch === "'") literals.push(value);
      code += ch === "'" ? ' $str ' : ' $ident ';
      i = j;
    } else {
      code += ch;
      i += 1;
    }
  }
  if (/--|\/\*|#/.test(code)) problems.push('a comment outside literals');
  if (/;\s*\S/.test(code)) problems.push('more than one statement');
  return { code, literals, problems };
}

/** Problems of one recorded statement: lexing, a marker outside literals, DDL or writes. */
export function auditStatement(record: SqlRecord, marker: string): string[] {
  const lexed = lexSql(record.sql);
  const problems = [...lexed.problems];
  if (lexed.code.includes(marker)) problems.push(`hostile marker ${marker} outside a string literal`);
  if (/^\s*(CREATE|DROP|ALTER|TRUNCATE|RENAME|ATTACH|DETACH|INSERT|OPTIMIZE|KILL|SYSTEM|GRANT|SET)\b/i.test(lexed.code)) problems.push('not a read');
  return problems;
}
