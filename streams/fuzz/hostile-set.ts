// One fuzz run's malformed records: every hand-written case, a bounded number of oversize
// and huge payloads, and fast-check samples of the other families, each with a hostile
// Kafka key (null, empty, binary with NUL, 10 KB, or a real user's id) and a timestamp.
//
// Why the big payloads are bounded: they keep the run short and its DLQ modest. What
// happens with DLQ writes beyond the broker's message.max.bytes (a bug this suite found,
// since fixed) is pinned by streams/fuzz-dlq-limits.kafka.test.ts.
import fc from 'fast-check';
import { HAND_CASES } from './hostile-cases.js';
import { hostilePayload, hugePayload, resolveTime, tooLarge, type HostileRecord, type Payload } from './hostile-records.js';

export interface HostileSetOptions {
  /** malformed records in all (hand cases included) */
  count: number;
  /** oversize (> 64 KiB) records among them, beyond the hand cases' two */
  oversize: number;
  /** huge (10-60 KB, within the limit) records among them */
  huge: number;
  seed: number;
  /** the run's clock: record timestamps and relative event times */
  nowMs: number;
  /** ids of real users, some malformed records are keyed with */
  userKeys: readonly string[];
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function hostileKey(userKeys: readonly string[]): fc.Arbitrary<Buffer | null> {
  const options: fc.Arbitrary<Buffer | null>[] = [
    fc.constant(null),
    fc.constant(Buffer.alloc(0)),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.constantFrom(utf8('\u0000'), utf8("'; DROP TABLE events; --"), utf8('\uD800'), Buffer.alloc(10_000, 0x6b)),
  ];
  if (userKeys.length > 0) options.push(fc.constantFrom(...userKeys).map(utf8));
  return fc.oneof(...options);
}

function toBuffer(value: Payload['value'], nowMs: number): Buffer | null {
  if (value === null) return null;
  if (typeof value === 'string') return utf8(resolveTime(value, nowMs));
  return Buffer.from(value);
}

export function hostileRecords(o: HostileSetOptions): HostileRecord[] {
  const fixed = HAND_CASES.length + o.oversize + o.huge;
  if (o.count < fixed) throw new Error(`count ${o.count} is below the ${fixed} fixed records`);
  const payloads: Payload[] = [
    ...HAND_CASES,
    ...fc.sample(tooLarge, { seed: o.seed, numRuns: o.oversize }),
    ...fc.sample(hugePayload, { seed: o.seed + 1, numRuns: o.huge }),
    ...fc.sample(hostilePayload, { seed: o.seed + 2, numRuns: o.count - fixed }),
  ];
  const keys = fc.sample(hostileKey(o.userKeys), { seed: o.seed + 3, numRuns: payloads.length });
  return payloads.map((pl, i) => ({
    key: keys[i] ?? null,
    value: toBuffer(pl.value, o.nowMs),
    timestamp: o.nowMs + (pl.timestampShiftMs ?? 0),
    family: pl.family,
    expect: pl.expect,
  }));
}
