// Feature definitions as code (DESIGN §4). One definition drives the stream worker, the
// online reader, the offline SQL, the API schema and the docs, so everything any path
// needs to know about a feature is declared here and nowhere else.
//
// MONEY RULE (exactness). Monetary values are aggregated as integer micro-units:
//   micros(price)            = floor(price * 1e6 + 0.5)      -- round half up
//   value 'price'            -> micros(price)
//   value 'price*quantity'   -> micros(price) * quantity     -- round the unit price, then multiply
// Sums are exact integers (BigInt here, Int64 in ClickHouse), so results never depend on
// event order or batch boundaries. Finalisation divides once, at the very end:
//   sum = sum_micros / 1e6;  avg = sum_micros / count / 1e6 (in that order);  min/max = micros / 1e6.
// ClickHouse mirror: toInt64(floor(price * 1000000 + 0.5)) [* quantity], then
// `sum_micros / 1000000` and `sum_micros / count / 1000000`: the same IEEE operations, so
// both sides produce identical doubles. floor(x + 0.5) is spelled out because ClickHouse's
// round() rounds half to even; it equals Math.round(price * 1e6) for every price below
// 4.5e9 except the single double just under 0.5 micro.
// 'quantity' is an integer value with scale 1 (same rule, no rounding).

export const ENTITIES = ['user', 'item'] as const;
export type Entity = (typeof ENTITIES)[number];

export const AGGREGATIONS = [
  'count', 'sum', 'avg', 'min', 'max', 'distinct', 'last_n', 'top_k', 'ratio',
  'session_count', 'session_duration', 'recency',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
/** Every aggregation except ratio is computed from tiles of its own. */
export type TileAggregation = Exclude<Aggregation, 'ratio'>;

export const VALUE_EXPRESSIONS = ['price', 'price*quantity', 'quantity', 'item_id', 'category', 'brand', 'user_id'] as const;
export type ValueExpression = (typeof VALUE_EXPRESSIONS)[number];

/** Optional event fields a filter can require to be present. */
export const FILTER_FIELDS = ['price', 'item_id', 'category', 'brand', 'session_id'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

export interface EventFilter {
  /** event_type values that count; omitted or empty means any event type */
  eventTypes?: readonly string[];
  /** fields that must be present; the value expression's own field is always required too */
  requires?: readonly FilterField[];
}

/**
 * Windows (all half-open, floor_X aligned to the Unix epoch in UTC):
 * - sliding:  floor_hop(T - size) <= t < T
 * - tumbling: [floor_size(T) - size, floor_size(T))        (last completed window)
 * - hopping:  [floor_slide(T) - size, floor_slide(T))      (last completed window)
 * - session:  the active session at T (gap < gapMs between consecutive events, T - last < gapMs);
 *   lookbackMs (default 24h) is how long the online store keeps its tiles: sessions that
 *   began earlier than that cannot be answered exactly online and fall back to offline.
 * - recency:  the last event in [T - horizonMs, T)
 */
export type WindowSpec =
  | { kind: 'sliding'; sizeMs: number; hopMs: number }
  | { kind: 'tumbling'; sizeMs: number }
  | { kind: 'hopping'; sizeMs: number; slideMs: number }
  | { kind: 'session'; gapMs: number; lookbackMs?: number }
  | { kind: 'recency'; horizonMs: number };
export type WindowKind = WindowSpec['kind'];

/** 'event' uses event_time; 'ingestion' uses ingest_time (the Kafka record timestamp). */
export type TimeBasis = 'event' | 'ingestion';

interface FeatureBase {
  /** lowercase snake_case, unique; also the SQL column and GraphQL field name */
  name: string;
  entity: Entity;
  description: string;
}

export interface TileFeature extends FeatureBase {
  aggregation: TileAggregation;
  /** which events count; default: every accepted event of the entity */
  filter?: EventFilter;
  /** required by sum, avg, min, max (numeric) and distinct, last_n, top_k (any) */
  value?: ValueExpression;
  /** N of last_n, K of top_k */
  limit?: number;
  window: WindowSpec;
  /** default 'event' */
  time?: TimeBasis;
  /** bump to start from fresh tiles after changing what a feature means */
  version?: number;
}

export interface RatioFeature extends FeatureBase {
  aggregation: 'ratio';
  /** names of two non-ratio features of the same entity; null when the denominator is 0 */
  numerator: string;
  denominator: string;
}

export type FeatureDefinition = TileFeature | RatioFeature;

/** What a feature evaluates to: numbers, lists, or null (see emptiness rules in DESIGN §4). */
export type FeatureValue = number | null | readonly (string | number)[];

export function isRatio(def: FeatureDefinition): def is RatioFeature {
  return def.aggregation === 'ratio';
}

export const MONEY_SCALE = 1_000_000;

/** The money rule above: price in currency units -> integer micro-units. */
export function toMicros(price: number): number {
  return Math.floor(price * MONEY_SCALE + 0.5);
}

export type ValueKind = 'money' | 'integer' | 'string';

export function valueKind(expr: ValueExpression): ValueKind {
  if (expr === 'price' || expr === 'price*quantity') return 'money';
  return expr === 'quantity' ? 'integer' : 'string';
}

/** Numeric values are aggregated as integers; the finished value is divided by this. */
export function valueScale(expr: ValueExpression): number {
  return valueKind(expr) === 'money' ? MONEY_SCALE : 1;
}

/** The optional event field an expression reads (must be present for the event to count). */
export function valueField(expr: ValueExpression): FilterField | undefined {
  switch (expr) {
    case 'price': case 'price*quantity': return 'price';
    case 'item_id': case 'category': case 'brand': return expr;
    default: return undefined; // user_id and quantity are always present
  }
}

/** Aggregations that read the value expression; the others only count events and times. */
export function usesValue(agg: TileAggregation): boolean {
  return agg === 'sum' || agg === 'avg' || agg === 'min' || agg === 'max'
    || agg === 'distinct' || agg === 'last_n' || agg === 'top_k';
}

/** Aggregations that need a numeric value expression. */
export function needsNumericValue(agg: TileAggregation): boolean {
  return agg === 'sum' || agg === 'avg' || agg === 'min' || agg === 'max';
}

/** The served type of a feature, for the API schema and docs. */
export interface OutputType {
  scalar: 'Int' | 'Float' | 'String';
  list: boolean;
  nullable: boolean;
}

export function outputType(def: FeatureDefinition): OutputType {
  if (isRatio(def)) return { scalar: 'Float', list: false, nullable: true };
  const kind = def.value === undefined ? undefined : valueKind(def.value);
  const numeric: OutputType['scalar'] = kind === 'integer' ? 'Int' : 'Float';
  switch (def.aggregation) {
    case 'count': case 'session_count': case 'distinct':
      return { scalar: 'Int', list: false, nullable: false };
    case 'sum': return { scalar: numeric, list: false, nullable: false };
    case 'avg': return { scalar: 'Float', list: false, nullable: true };
    case 'min': case 'max': return { scalar: numeric, list: false, nullable: true };
    case 'last_n': case 'top_k':
      return { scalar: kind === 'string' ? 'String' : numeric, list: true, nullable: false };
    case 'session_duration': case 'recency':
      return { scalar: 'Float', list: false, nullable: true };
  }
}
