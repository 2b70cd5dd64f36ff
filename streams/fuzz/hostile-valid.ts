// Valid events made as hostile as the contract allows: the pipeline must accept them and
// carry their exact strings to Redis and ClickHouse. Applied to a generated stream
// (fixtures/generator.ts), so lateness, duplicates and features stay realistic.
//
// - some users get ids full of quotes, backslashes, Redis hash-tag and glob characters,
//   and non-BMP characters (key and user_id both, so a user's events stay in one partition);
// - item_id, category, brand and session_id take SQL injection strings;
// - attributes take NUL, newlines, tabs and every plane (allowed in attribute values);
// - unknown top-level fields (ignored by the contract) carry "__proto__" and "constructor"
//   objects, deep nesting and numbers beyond 2^64;
// - event_time is sent as ISO-8601 with a numeric offset instead of epoch ms.
import fc from 'fast-check';
import type { GeneratedRecord } from '../../fixtures/generator.js';
import { hash32, Rng } from '../../fixtures/random.js';
import { hostileString, INJECTION_PAYLOADS } from '../../offline/sql-arbitraries.js';

export interface ValidRecord {
  key: string;
  value: Buffer;
  /** which hostile changes were made ('' for none) */
  hostile: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Strings the id fields accept: no control characters, no lone surrogates, 1..max long. */
function legalId(s: string, max: number): string {
  const clean = s.replace(CONTROL, '').replace(LONE_SURROGATE, '');
  return (clean.length === 0 ? '∅' : clean).slice(0, max).replace(/[\uD800-\uDBFF]$/, '');
}

const ID_PAYLOADS = [
  ...INJECTION_PAYLOADS.map((s) => legalId(s, 100)),
  '{u:1}', '}{', 'ts:t1:{u:x}:m', '*', '?', '[a-z]', '\\x00', '%00', '${HOME}', '../../etc/passwd', '😀👍🏽', '\u202eevil', 'Ω≈ç√',
];

const ISO_OFFSETS = ['Z', '+00:00', '+05:30', '-08:00', '+14:00', '-12:00', 'z'];

function isoWithOffset(ms: number, offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = /^[Zz]$/.test(offset) ? 0 : sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 23);
  return `${local}${offset}`;
}

export function hostileValidStream(records: readonly GeneratedRecord[], seed: string, fraction = 0.35): ValidRecord[] {
  const rng = new Rng(seed);
  const strings = fc.sample(hostileString(60), { seed: hash32(seed), numRuns: 2_000 });
  const pickString = (max: number): string => (rng.chance(0.4) ? rng.pick(ID_PAYLOADS) : legalId(rng.pick(strings), max));
  const renamed = new Map<string, string>();
  const userOf = (id: string): string => {
    let r = renamed.get(id);
    if (r === undefined) renamed.set(id, (r = hash32(`${seed}:${id}`) % 8 === 0 ? `${rng.pick(ID_PAYLOADS)}#${renamed.size}` : id));
    return r;
  };

  return records.map((rec) => {
    const o = JSON.parse(rec.value.toString()) as Record<string, unknown>;
    const tags: string[] = [];
    const user = userOf(String(o.user_id));
    if (user !== o.user_id) {
      o.user_id = user;
      tags.push('user_id');
    }
    let extra = '';
    if (rng.chance(fraction)) {
      for (const field of ['item_id', 'category', 'brand', 'session_id'] as const) {
        if (o[field] !== undefined && rng.chance(0.3)) {
          o[field] = pickString(256);
          tags.push(field);
        }
      }
      if (rng.chance(0.5)) {
        const attrs: Record<string, unknown> = {};
        for (let i = rng.int(1, 6); i > 0; i--) {
          const k = legalId(rng.pick(strings), 64);
          if (k !== '__proto__' && k !== 'constructor' && k !== 'prototype') {
            attrs[k] = rng.pick<unknown>([rng.pick(strings).replace(LONE_SURROGATE, ''), 'a\u0000b\n\tc', "it's \\ \"quoted\"", 1e308, -0, 5e-324, 2 ** 53 + 2, true, null]);
          }
        }
        o.attributes = attrs;
        tags.push('attributes');
      }
      if (rng.chance(0.3) && typeof o.event_time === 'number') {
        o.event_time = isoWithOffset(o.event_time, rng.pick(ISO_OFFSETS));
        tags.push('iso_time');
      }
      if (rng.chance(0.3)) {
        const depth = rng.int(10, 400);
        extra = `"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"big":18446744073709551616,"nan":"NaN",` +
          `"deep":${'{"a":'.repeat(depth)}null${'}'.repeat(depth)},`;
        tags.push('junk_fields');
      }
    }
    const text = JSON.stringify(o);
    return { key: user, value: Buffer.from(extra === '' ? text : `{${extra}${text.slice(1)}`), hostile: tags.join('+') };
  });
}
