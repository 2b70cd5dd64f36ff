// Where the offline sink's time goes: each stage it runs per record, timed alone (CPU time
// of this process, single thread) over the benchmark's own records. The old row path
// (eventToRow + JSON) and core's admit() are timed too, next to what replaced them.
import { randomUUID } from 'node:crypto';
import { admit, emptyAcceptanceState, type AcceptanceState } from '../core/acceptance.js';
import type { ClickEvent } from '../core/event.js';
import type { Config } from '../config/config.js';
import { eventToRow } from '../offline/events-table.js';
import { admitUser, decodeRecords, entryOf, type Decoded, type UserEntry } from '../offline/sink/judge.js';
import { encodeEventLine } from '../offline/sink/row-encoder.js';
import { createKafka } from '../streams/kafka-client.js';
import type { ReadRecord } from '../streams/test-support.js';
import { round } from './support.js';

export interface StageCosts {
  /** µs of CPU per record */
  kafkajsUs: number;
  decodeUs: number;
  acceptUs: number;
  coreAdmitUs: number;
  encodeUs: number;
  jsonRowUs: number;
}

function cpuUs(run: () => void): number {
  const c0 = process.cpuUsage();
  run();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
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

  const decoded: Array<[number, Decoded[]]> = [];
  const decodeUs = cpuUs(() => { for (const [p, rs] of byPartition) decoded.push([p, decodeRecords(rs, limits)]); });
  const events: AcceptedEvent[] = decoded.flatMap(([partition, ds]) => ds.flatMap((d) => (d.event === undefined ? [] : [{ event: d.event, partition, offset: d.offset }])));

  const accepted: AcceptedEvent[] = [];
  const acceptUs = cpuUs(() => {
    const users = new Map<string, UserEntry>();
    for (const e of events) {
      let u = users.get(e.event.user_id);
      if (u === undefined) users.set(e.event.user_id, (u = entryOf({ raw: '', marker: -1, state: emptyAcceptanceState() })));
      if (admitUser(u, e.event, latenessMs).accepted) accepted.push(e);
    }
  });
  const coreAdmitUs = cpuUs(() => {
    const states = new Map<string, AcceptanceState>();
    for (const e of events) {
      let s = states.get(e.event.user_id);
      if (s === undefined) states.set(e.event.user_id, (s = emptyAcceptanceState()));
      admit(s, e.event, latenessMs);
    }
  });
  const encodeUs = cpuUs(() => { for (const e of accepted) encodeEventLine(e.event, 0, e.offset); });
  const jsonRowUs = cpuUs(() => { for (const e of accepted) JSON.stringify(eventToRow(e.event, { partition: 0, offset: e.offset })); });
  const per = (us: number, n: number) => round(us / Math.max(1, n), 2);
  const costs: StageCosts = {
    kafkajsUs: round(await kafkajsCost(config, records.length), 2),
    decodeUs: per(decodeUs, records.length),
    acceptUs: per(acceptUs, events.length),
    coreAdmitUs: per(coreAdmitUs, events.length),
    encodeUs: per(encodeUs, accepted.length),
    jsonRowUs: per(jsonRowUs, accepted.length),
  };
  return { costs, accepted };
}
