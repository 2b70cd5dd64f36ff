// Where the offline sink's time goes: each stage it runs per record, timed alone (CPU time
// of this process, single thread) over the benchmark's own records. What a stage replaced
// is timed too, on the same records, as the same-run baseline: the zod-only decode (before
// the hand-written accept path), eager eviction in admit() (before amortized eviction), the
// old row path (eventToRow + JSON). Each pair runs twice, alternately; the lower is kept.
import { randomUUID } from 'node:crypto';
import { admit, emptyAcceptanceState, judge, type AcceptanceState, type Verdict } from '../core/acceptance.js';
import { decodeEvent, decodeEventSchemaOnly, type ClickEvent, type DecodeResult, type EventLimits } from '../core/event.js';
import type { Config } from '../config/config.js';
import { eventToRow } from '../offline/events-table.js';
import { decodeRecords, type Decoded } from '../offline/sink/judge.js';
import { encodeEventLine } from '../offline/sink/row-encoder.js';
import { createKafka } from '../streams/kafka-client.js';
import type { ReadRecord } from '../streams/test-support.js';
import { round } from './support.js';

export interface StageCosts {
  /** µs of CPU per record */
  kafkajsUs: number;
  /** core decodeEvent (fast accept path, zod for rejections) */
  decodeUs: number;
  /** the same records through the zod schema only (the decode this replaced) */
  decodeSchemaOnlyUs: number;
  /** core admit(), amortized eviction (online worker and sink) */
  acceptUs: number;
  /** admit() with eager eviction (a scan of the user's ids whenever max grows), as it was */
  eagerAdmitUs: number;
  encodeUs: number;
  jsonRowUs: number;
}

function cpuUs(run: () => void): number {
  const c0 = process.cpuUsage();
  run();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

/** Alternates the two runs, twice, and keeps each one's lower CPU time (other processes share the cores). */
function pairUs(a: () => void, b: () => void): [number, number] {
  const ra = [cpuUs(a)];
  const rb = [cpuUs(b)];
  ra.push(cpuUs(a));
  rb.push(cpuUs(b));
  return [Math.min(...ra), Math.min(...rb)];
}

/** admit() as it was before amortized eviction: the same-run baseline of the acceptance stage. */
function eagerAdmit(state: AcceptanceState, event: Pick<ClickEvent, 'event_id' | 'event_time'>, latenessMs: number): Verdict {
  const verdict = judge(state, event, latenessMs);
  if (!verdict.accepted) return verdict;
  const previous = state.maxEventTime;
  state.ids.set(event.event_id, event.event_time);
  if (previous === null || event.event_time > previous) {
    state.maxEventTime = event.event_time;
    const horizon = event.event_time - latenessMs;
    for (const [id, time] of state.ids) if (time < horizon) state.ids.delete(id);
  }
  return verdict;
}

type Decode = (value: Uint8Array | null, ts: number, limits: EventLimits) => DecodeResult;

function decodeAll(byPartition: ReadonlyMap<number, readonly ReadRecord[]>, decode: Decode, limits: EventLimits): void {
  for (const rs of byPartition.values()) for (const r of rs) decode(r.value, Number(r.timestamp), limits);
}

/** Each user's events through `admitFn`, in order, from empty states; the accepted ones. */
function acceptAll<E extends { event: ClickEvent }>(events: readonly E[], admitFn: typeof admit, latenessMs: number): E[] {
  const states = new Map<string, AcceptanceState>();
  const accepted: E[] = [];
  for (const e of events) {
    let s = states.get(e.event.user_id);
    if (s === undefined) states.set(e.event.user_id, (s = emptyAcceptanceState()));
    if (admitFn(s, e.event, latenessMs).accepted) accepted.push(e);
  }
  return accepted;
}

/** CPU µs per record of a kafkajs consumer that only counts the topic's records. */
async function kafkajsCost(config: Config, total: number): Promise<number> {
  const consumer = createKafka(config, 'bench-stages').consumer({ groupId: `bench-stages-${randomUUID()}`, maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.events, fromBeginning: true });
  let n = 0;
  let c0: NodeJS.CpuUsage | undefined;
  const used = await new Promise<NodeJS.CpuUsage>((resolve, reject) => {
    consumer.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch }) => {
        c0 ??= process.cpuUsage();
        n += batch.messages.length;
        if (n >= total) resolve(process.cpuUsage(c0));
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return (used.user + used.system) / total;
}

/** The accepted events of the records (the sink's rules), with their source positions. */
export interface AcceptedEvent {
  event: ClickEvent;
  partition: number;
  offset: number;
}

export async function measureStages(records: readonly ReadRecord[], config: Config): Promise<{ costs: StageCosts; accepted: AcceptedEvent[] }> {
  const limits = { maxBytes: config.events.maxBytes, maxFutureMs: config.events.maxFutureMs };
  const latenessMs = config.events.allowedLatenessMs;
  const byPartition = new Map<number, ReadRecord[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition);
    if (list === undefined) byPartition.set(r.partition, [r]);
    else list.push(r);
  }

  const [decodeUs, decodeSchemaOnlyUs] = pairUs(() => decodeAll(byPartition, decodeEvent, limits), () => decodeAll(byPartition, decodeEventSchemaOnly, limits));
  const decoded: Array<[number, Decoded[]]> = [];
  for (const [p, rs] of byPartition) decoded.push([p, decodeRecords(rs, limits)]);
  const events: AcceptedEvent[] = decoded.flatMap(([partition, ds]) => ds.flatMap((d) => (d.event === undefined ? [] : [{ event: d.event, partition, offset: d.offset }])));

  let accepted: AcceptedEvent[] = [];
  const [acceptUs, eagerAdmitUs] = pairUs(() => { accepted = acceptAll(events, admit, latenessMs); }, () => acceptAll(events, eagerAdmit, latenessMs));
  const encodeUs = cpuUs(() => { for (const e of accepted) encodeEventLine(e.event, 0, e.offset); });
  const jsonRowUs = cpuUs(() => { for (const e of accepted) JSON.stringify(eventToRow(e.event, { partition: 0, offset: e.offset })); });
  const per = (us: number, n: number) => round(us / Math.max(1, n), 2);
  const costs: StageCosts = {
    kafkajsUs: round(await kafkajsCost(config, records.length), 2),
    decodeUs: per(decodeUs, records.length),
    decodeSchemaOnlyUs: per(decodeSchemaOnlyUs, records.length),
    acceptUs: per(acceptUs, events.length),
    eagerAdmitUs: per(eagerAdmitUs, events.length),
    encodeUs: per(encodeUs, accepted.length),
    jsonRowUs: per(jsonRowUs, accepted.length),
  };
  return { costs, accepted };
}
