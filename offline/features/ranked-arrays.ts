// The ranked path's sorted arrays (ranked.ts, step 2): per entity, each scope's in-scope
// events sorted by (time, event_id, user_id, values...), one array per element, which a
// label slices by its ranks (lo, hi].
//
// A label copies the arrays it reads (ANY LEFT JOIN), so what it copies is what they cost:
// a 24-hour feature of a label used to copy every event of its entity's whole history in
// the chunk (~200 for the benchmark's users, ~1,000 for its items) to read ~30 (~140).
// So the arrays come in lookback classes, and a class whose lookback is shorter than the
// labels' span is cut in time blocks: block b of width W (a quarter of the lookback) holds
// the in-scope events in [b * W - lookback, (b + 1) * W), every window of a label with
// T in [b * W, (b + 1) * W) lies inside it, and a label copies ~1.25 x its lookback. The
// block's first event has rank base + 1 (`base`: the in-scope events before the block, per
// scope), so a label reads ranks (lo, hi] at positions (lo - base, hi - base]. Only the
// blocks that labels fall in are built.
import { int64, join, sql, ident, type Sql } from '../sql.js';
import { runStarts, T_COL } from './expressions.js';
import { COL } from './source.js';

/** Arrays of one lookback class: blocks of blockMs, or (null) one row per entity. */
export interface ArrayClass {
  index: number;
  lookbackMs: number;
  blockMs: number | null;
}

/** Numbered SQL texts: one running sum per distinct contribution, one marker per distinct bound. */
export class Numbered {
  readonly items: Sql[] = [];
  readonly #index = new Map<string, number>();
  add(x: Sql): number {
    let i = this.#index.get(x.text);
    if (i === undefined) {
      i = this.items.length;
      this.#index.set(x.text, i);
      this.items.push(x);
    }
    return i;
  }
}

/** The sorted in-scope arrays of one scope in one class: which tuple elements (by SQL text) each holds. */
export class Scope {
  readonly values = new Numbered();
  /**
   * columns in use: `_a<scope>_<k>` (the values), `_a<scope>_<k>_d` (their dense ids),
   * `_a<scope>_<k>_r` (their rank ids) and `_a<scope>_<k>_s` (the sorted distinct values)
   */
  readonly columns = new Set<string>();
  constructor(readonly index: number, readonly condition: Sql, readonly cls: ArrayClass) {}
  /** rank of the element before this row's first: its in-scope events before the block */
  get base(): Sql {
    return this.cls.blockMs === null ? sql`toInt64(0)` : ident(`_a${this.index}_b`);
  }
}

/** A class's widest lookback is at most this many times its narrowest (more classes: more reads of the events). */
const CLASS_SPREAD = 4;
const BLOCKS_PER_LOOKBACK = 4;

/**
 * The class of each lookback: lookbacks grouped while the widest is at most CLASS_SPREAD
 * times the narrowest; a class is cut in blocks when the labels span more than its lookback.
 */
export function arrayClasses(lookbacks: readonly number[], labelSpanMs: number): (lookbackMs: number) => ArrayClass {
  const classes: ArrayClass[] = [];
  let narrowest = 0;
  for (const lb of [...new Set(lookbacks)].sort((a, b) => a - b)) {
    const last = classes.at(-1);
    if (last !== undefined && lb <= narrowest * CLASS_SPREAD) last.lookbackMs = lb;
    else {
      classes.push({ index: classes.length, lookbackMs: lb, blockMs: null });
      narrowest = lb;
    }
  }
  for (const c of classes) c.blockMs = labelSpanMs > c.lookbackMs ? Math.max(1, Math.ceil(c.lookbackMs / BLOCKS_PER_LOOKBACK)) : null;
  return (lb) => classes.find((c) => lb <= c.lookbackMs) as ArrayClass;
}

/** The label's block in a blocked class (a column of the label rows). */
export function blockColumn(c: ArrayClass): Sql {
  return ident(`_bk${c.index}`);
}

export function blockOf(c: ArrayClass): Sql {
  return sql`toInt64(intDiv(${T_COL}, ${int64(c.blockMs ?? 1)})) AS ${blockColumn(c)}`;
}

/** Names of the columns arraysQuery(c, scopes) adds to a label row. */
export function arrayColumns(scopes: readonly Scope[]): string[] {
  return scopes.flatMap((s) => [...s.columns, ...(s.cls.blockMs === null ? [] : [`_a${s.index}_b`])]);
}

/**
 * Rows of one class's arrays: per entity (unblocked), or per (entity, block) for the
 * blocks the labels fall in; keyed by _eid and, when blocked, _bk<class>.
 */
export function arraysQuery(source: Sql, labels: Sql, cls: ArrayClass, scopes: readonly Scope[]): Sql {
  const { rows: perEntity, element } = sortedScopes(source, scopes);
  // The used columns of a scope, each computed from the entity's whole sorted values
  // (dense and rank ids of the whole array are bijections ordered like the values, so a
  // slice of them counts and ranks as the slice's own would).
  const split = (s: Scope, values: (k: number) => Sql): Array<{ name: string; expr: Sql; sliced: boolean }> => s.values.items.flatMap((_, k) => {
    const name = `_a${s.index}_${k}`;
    return [
      ...(s.columns.has(name) ? [{ name, expr: values(k), sliced: true }] : []),
      ...(s.columns.has(`${name}_d`) ? [{ name: `${name}_d`, expr: sql`arrayEnumerateDense(${values(k)})`, sliced: true }] : []),
      ...(s.columns.has(`${name}_r`) ? [{ name: `${name}_r`, expr: rankIds(values(k)), sliced: true }] : []),
      ...(s.columns.has(`${name}_s`) ? [{ name: `${name}_s`, expr: sortedDistinct(values(k)), sliced: false }] : []),
    ];
  });
  if (cls.blockMs === null) return sql`SELECT _eid, ${join(scopes.flatMap((s) => split(s, (k) => element(s, k)).map((c) => sql`${c.expr} AS ${ident(c.name)}`)))} FROM (${perEntity})`;

  // Blocked: the entity's sorted tuples (strings included) are reduced to their times and
  // the used columns BEFORE a row is made per block, so the per-block copies are only
  // those arrays (copying the tuples per block was 40% of a 24-hour class's cost).
  const W = int64(cls.blockMs);
  const bk = blockColumn(cls);
  const times = (s: Scope): Sql => ident(`_a${s.index}_t`);
  const whole = (name: string): Sql => ident(`${name}_w`);
  const columns = scopes.map((s) => ({ s, cols: split(s, (k) => element(s, k)) }));
  const entityColumns = columns.flatMap(({ s, cols }) => [sql`${element(s, -1)} AS ${times(s)}`, ...cols.map((c) => sql`${c.expr} AS ${whole(c.name)}`)]);
  const entityNames = columns.flatMap(({ s, cols }) => [times(s), ...cols.map((c) => whole(c.name))]);
  const before = (s: Scope, bound: Sql): Sql => sql`arrayCount(_x -> _x < ${bound}, ${times(s)})`;
  const bases = scopes.map((s) => sql`${before(s, sql`${bk} * ${W} - ${int64(cls.lookbackMs)}`)} AS _a${int64(s.index)}_b`);
  const sliced = columns.flatMap(({ s, cols }) => cols.map((c) => (c.sliced
    ? sql`arraySlice(${whole(c.name)}, _a${int64(s.index)}_b + 1, ${before(s, sql`(${bk} + 1) * ${W}`)} - _a${int64(s.index)}_b) AS ${ident(c.name)}`
    : sql`${whole(c.name)} AS ${ident(c.name)}`)));
  const blocks = sql`SELECT _eid, groupUniqArray(toInt64(intDiv(${T_COL}, ${W}))) AS _bks FROM (${labels}) GROUP BY _eid`;
  return sql`SELECT _eid, ${bk}, ${join([...scopes.map((s) => sql`_a${int64(s.index)}_b`), ...sliced])}
  FROM (
    SELECT _eid, ${bk}, ${join(entityNames)}, ${join(bases)}
    FROM (SELECT _eid, ${join(entityNames)}, _bks FROM (SELECT _eid, ${join(entityColumns)} FROM (${perEntity})) ANY INNER JOIN (${blocks}) USING _eid)
    ARRAY JOIN _bks AS ${bk}
  )`;
}

/**
 * Per entity, each scope's in-scope events sorted by (time, event_id, user_id, values...):
 * `element(s, k)` is the array of scope s's k-th value (-1: the times). Several scopes
 * share ONE sort of the entity's events, each then filtered by its condition: (time,
 * event_id, user_id) is unique within an entity (the source groups by it), so the values
 * never decide the order and a filtered sorted array is the scope's own sorted array. A
 * sort per scope sorted the same events once per scope (3 of them in each user class).
 */
function sortedScopes(source: Sql, scopes: readonly Scope[]): { rows: Sql; element: (s: Scope, k: number) => Sql } {
  const head = sql`${COL.t}, ${COL.id}, ${COL.uid}`;
  if (scopes.length === 1) {
    const grouped = scopes.map((s) => sql`arraySort(groupArrayIf((${head}, ${join(s.values.items)}), ${s.condition})) AS _g${int64(s.index)}`);
    return {
      rows: sql`SELECT _eid, ${join(grouped)} FROM (${source}) GROUP BY _eid`,
      element: (s, k) => sql`arrayMap(_q -> tupleElement(_q, ${int64(k < 0 ? 1 : k + 4)}), _g${int64(s.index)})`,
    };
  }
  const items = new Numbered(); // tuple elements after the head: conditions and values
  const cond = scopes.map((s) => items.add(sql`toUInt8(${s.condition})`));
  const pos = scopes.map((s) => s.values.items.map((v) => items.add(v)));
  const masks = scopes.map((s, i) => sql`arrayMap(_q -> tupleElement(_q, ${int64((cond[i] as number) + 4)}), _g) AS _k${int64(s.index)}`);
  const at = (s: Scope): number => scopes.indexOf(s);
  return {
    rows: sql`SELECT _eid, _g, ${join(masks)} FROM (SELECT _eid, arraySort(groupArray((${head}, ${join(items.items)}))) AS _g FROM (${source}) GROUP BY _eid)`,
    element: (s, k) => {
      const p = k < 0 ? 1 : ((pos[at(s)] as number[])[k] as number) + 4;
      return sql`arrayFilter((_v, _m) -> _m = 1, arrayMap(_q -> tupleElement(_q, ${int64(p)}), _g), _k${int64(s.index)})`;
    },
  };
}

/** The distinct values of `values`, ascending. */
function sortedDistinct(values: Sql): Sql {
  const s = sql`arraySort(${values})`;
  return sql`arrayFilter((_x, _b) -> _b, ${s}, ${runStarts(s)})`;
}

/**
 * Each element's rank among the distinct values ascending (1 = smallest): a bijection of
 * the values, ordered like them. The sorted values' run numbers, put back in the elements'
 * order by sorting them by the sorting permutation (sorts only: a lambda that read the
 * distinct values per element would copy them per element, and 18.16 cannot read a joined
 * column inside a lambda).
 */
function rankIds(values: Sql): Sql {
  const s = sql`arraySort(${values})`;
  const order = sql`arraySort((_i, _v) -> _v, arrayEnumerate(${values}), ${values})`;
  const runs = sql`arrayCumSum(arrayMap(_b -> toUInt32(_b), ${runStarts(s)}))`;
  return sql`arraySort((_r, _o) -> _o, ${runs}, ${order})`;
}
