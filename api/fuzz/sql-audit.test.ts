// The SQL audit of the API fuzz suite must itself be right: it decodes what offline/sql.ts
// quotes back to the exact string, and it flags comments, second statements, hostile text
// outside literals and writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hostileString } from '../../offline/sql-arbitraries.js';
import { ident, sql, str } from '../../offline/sql.js';
import { auditStatement, lexSql } from './sql-audit.js';

test('str() literals decode back to the exact string', () => {
  fc.assert(fc.property(hostileString(60), (s) => {
    const lexed = lexSql(sql`SELECT ${str(s)} AS ${ident('x')}`.text);
    assert.deepEqual(lexed.literals, [s]);
    assert.deepEqual(lexed.problems, []);
  }), { numRuns: 2_000, seed: 42 });
});

test('what an injection would look like is flagged', () => {
  const audit = (text: string) => auditStatement({ method: 'query', sql: text }, 'ZQX');
  assert.deepEqual(audit("SELECT 1 FROM t WHERE id = 'ZQX\\'ZQX'"), []);
  assert.deepEqual(audit("SELECT 1 FROM t WHERE id = 'ZQX''ZQX'"), []);
  assert.ok(audit("SELECT 1 FROM t WHERE id = 'ZQX' OR 1=1 --ZQX'").length > 0, 'comment and marker outside');
  assert.ok(audit("SELECT 1 FROM t WHERE id = 'a'; DROP TABLE t").length > 0, 'second statement');
  assert.ok(audit("SELECT 1 FROM t WHERE id = 'a").length > 0, 'unterminated literal');
  assert.ok(audit('SELECT 1 /* x */').length > 0, 'block comment');
  assert.ok(audit('SELECT ZQX').length > 0, 'marker as code');
  assert.ok(audit('DROP TABLE t').length > 0, 'not a read');
  assert.ok(audit("INSERT INTO t VALUES ('x')").length > 0, 'not a read');
});
