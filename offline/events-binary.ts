// Stored events read back as ClickEvents through RowBinary (offline/row-binary.ts), for
// jobs that read many events and only aggregate them (backfill): no JSON text, no row
// object, no attributes, and only the optional columns the caller's series can read.
// The events equal rowToEvent's (offline/events-table.ts) but for the fields not asked
// for; floats are the stored bits and strings the stored bytes, exactly.
import type { ClickEvent } from '../core/event.js';
import type { FilterField } from '../core/features/definition.js';
import { RowBinaryError, rowBinaryRows, StringCache, type RowBinaryReader } from './row-binary.js';
import { join, sql, uint64, type Sql } from './sql.js';

/**
 * Ends every row: a row that does not end with it means the bytes are not rows of this
 * query (ClickHouse appends an error's text to a response already under way).
 */
const ROW_END = 0x9e3779b9;

/** The select list of events with the required fields plus some optional ones (eventDecoder reads its rows). */
export interface EventColumns {
  /** for `SELECT ${columns} FROM events ...` (or events_by_item) */
  columns: Sql;
  fields: ReadonlySet<FilterField>;
}

/** The columns of events with the required fields and `optional` (e.g. the `requires` of the series to compute). */
export function eventColumns(optional: Iterable<FilterField>): EventColumns {
  const fields = new Set(optional);
  const list: Sql[] = [sql`event_id`, sql`user_id`, sql`event_type`, sql`event_time`, sql`ingest_time`, sql`quantity`];
  if (fields.has('session_id')) list.push(sql`session_id`);
  // String in events_by_item, Nullable(String) in events: one wire type for both.
  if (fields.has('item_id')) list.push(sql`toNullable(item_id)`);
  if (fields.has('category')) list.push(sql`category`);
  if (fields.has('brand')) list.push(sql`brand`);
  if (fields.has('price')) list.push(sql`price`);
  list.push(sql`toUInt32(${uint64(ROW_END)})`);
  return { columns: join(list), fields };
}

/** Decodes rows of `cols` into events; string caches live as long as the decoder. */
export function eventDecoder(cols: EventColumns): (r: RowBinaryReader) => ClickEvent {
  const f = cols.fields;
  const session = f.has('session_id');
  const item = f.has('item_id');
  const category = f.has('category');
  const brand = f.has('brand');
  const price = f.has('price');
  const users = new StringCache(4096);
  const types = new StringCache(256);
  const items = new StringCache(4096);
  const others = new StringCache(1024);
  return (r) => {
    const eventId = r.string();
    const userId = r.stringVia(users);
    const eventType = r.stringVia(types);
    const eventTime = r.uint64Safe('event_time');
    const ingestTime = r.uint64Safe('ingest_time');
    const quantity = r.uint32();
    const sessionId = session && !r.isNull() ? r.stringVia(others) : undefined;
    const itemId = item && !r.isNull() ? r.stringVia(items) : undefined;
    const cat = category && !r.isNull() ? r.stringVia(others) : undefined;
    const br = brand && !r.isNull() ? r.stringVia(others) : undefined;
    const p = price && !r.isNull() ? r.float64() : undefined;
    if (r.uint32() !== ROW_END) throw new RowBinaryError('a row does not end where the query\'s columns do (an error in the response?)');
    const e: ClickEvent = { event_id: eventId, user_id: userId, event_type: eventType, event_time: eventTime, ingest_time: ingestTime, quantity };
    if (sessionId !== undefined) e.session_id = sessionId;
    if (itemId !== undefined) e.item_id = itemId;
    if (cat !== undefined) e.category = cat;
    if (br !== undefined) e.brand = br;
    if (p !== undefined) e.price = p;
    return e;
  };
}

/**
 * Decodes a RowBinary response body of `cols` rows as it arrives, handing the events of
 * each network chunk to `each` (awaited: the body is not read meanwhile).
 */
export async function readEvents(body: AsyncIterable<unknown>, cols: EventColumns, each: (events: ClickEvent[]) => void | Promise<void>): Promise<void> {
  const decode = eventDecoder(cols);
  let out: ClickEvent[] = [];
  const rows = rowBinaryRows((r) => {
    out.push(decode(r));
  });
  for await (const chunk of body) {
    rows.push(chunk as Buffer);
    const events = out;
    out = [];
    if (events.length > 0) await each(events);
  }
  rows.end();
}
