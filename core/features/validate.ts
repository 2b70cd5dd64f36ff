// Definition checks, run when a registry is built: a feature that could be misread by
// any path (stream, reader, SQL, API) is rejected with every problem listed at once.
import {
  AGGREGATIONS, ENTITIES, FILTER_FIELDS, VALUE_EXPRESSIONS, isRatio, needsNumericValue, usesValue, valueKind,
  type FeatureDefinition, type TileFeature, type WindowSpec,
} from './definition.js';

export const FEATURE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const EVENT_TYPE = /^[a-z_]{1,32}$/;
export const MAX_LIMIT = 1000;

export class FeatureDefinitionError extends Error {
  override name = 'FeatureDefinitionError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid feature definitions: ${problems.join('; ')}`);
  }
}

const positiveInt = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;

function windowProblems(w: WindowSpec): string[] {
  const out: string[] = [];
  const need = (ok: boolean, msg: string): void => { if (!ok) out.push(msg); };
  switch (w.kind) {
    case 'sliding':
      need(positiveInt(w.sizeMs) && positiveInt(w.hopMs), 'sliding sizeMs and hopMs must be positive integers');
      need(w.sizeMs % w.hopMs === 0, 'sliding sizeMs must be a multiple of hopMs');
      break;
    case 'tumbling':
      need(positiveInt(w.sizeMs), 'tumbling sizeMs must be a positive integer');
      break;
    case 'hopping':
      need(positiveInt(w.sizeMs) && positiveInt(w.slideMs), 'hopping sizeMs and slideMs must be positive integers');
      need(w.sizeMs % w.slideMs === 0, 'hopping sizeMs must be a multiple of slideMs');
      break;
    case 'session':
      need(positiveInt(w.gapMs) && w.gapMs >= 2, 'session gapMs must be an integer >= 2');
      need(w.lookbackMs === undefined || (positiveInt(w.lookbackMs) && w.lookbackMs >= w.gapMs),
        'session lookbackMs must be an integer >= gapMs');
      break;
    case 'recency':
      need(positiveInt(w.horizonMs), 'recency horizonMs must be a positive integer');
      break;
    default:
      out.push(`unknown window kind ${JSON.stringify((w as { kind?: unknown }).kind)}`);
  }
  return out;
}

function tileFeatureProblems(def: TileFeature): string[] {
  const out = windowProblems(def.window);
  const agg = def.aggregation;
  const kind = def.window.kind;
  if ((agg === 'session_count' || agg === 'session_duration') && kind !== 'session') out.push(`${agg} needs a session window`);
  if ((agg === 'recency') !== (kind === 'recency')) out.push('recency aggregation and recency window go together');
  if (usesValue(agg)) {
    if (def.value === undefined || !VALUE_EXPRESSIONS.includes(def.value)) out.push(`${agg} needs a value (${VALUE_EXPRESSIONS.join(', ')})`);
    else if (needsNumericValue(agg) && valueKind(def.value) === 'string') out.push(`${agg} needs a numeric value, not ${def.value}`);
  } else if (def.value !== undefined) {
    out.push(`${agg} reads no value; use filter.requires to require fields`);
  }
  if (agg === 'last_n' || agg === 'top_k') {
    if (!positiveInt(def.limit) || (def.limit ?? 0) > MAX_LIMIT) out.push(`${agg} needs an integer limit in 1..${MAX_LIMIT}`);
  } else if (def.limit !== undefined) {
    out.push(`limit is only for last_n and top_k`);
  }
  for (const type of def.filter?.eventTypes ?? []) {
    if (!EVENT_TYPE.test(type)) out.push(`event type ${JSON.stringify(type)} is not [a-z_]{1,32}`);
  }
  for (const field of def.filter?.requires ?? []) {
    if (!FILTER_FIELDS.includes(field)) out.push(`filter cannot require ${JSON.stringify(field)} (${FILTER_FIELDS.join(', ')})`);
  }
  if (def.time !== undefined && def.time !== 'event' && def.time !== 'ingestion') out.push(`time must be 'event' or 'ingestion'`);
  if (def.version !== undefined && !(Number.isSafeInteger(def.version) && def.version >= 0)) out.push('version must be a non-negative integer');
  return out;
}

/** Every problem of a list of definitions, prefixed by the feature name; [] when valid. */
export function definitionProblems(defs: readonly FeatureDefinition[]): string[] {
  const out: string[] = [];
  const byName = new Map<string, FeatureDefinition>();
  for (const def of defs) {
    if (typeof def.name !== 'string' || !FEATURE_NAME.test(def.name)) out.push(`${JSON.stringify(def.name)}: name must match ${FEATURE_NAME}`);
    else if (byName.has(def.name)) out.push(`${def.name}: defined twice`);
    byName.set(def.name, def);
  }
  for (const def of defs) {
    const problems: string[] = [];
    if (!ENTITIES.includes(def.entity)) problems.push(`entity must be one of ${ENTITIES.join(', ')}`);
    if (typeof def.description !== 'string' || def.description.trim() === '') problems.push('description is required');
    if (!AGGREGATIONS.includes(def.aggregation)) problems.push(`unknown aggregation ${JSON.stringify(def.aggregation)}`);
    else if (isRatio(def)) {
      for (const ref of [def.numerator, def.denominator]) {
        const input = byName.get(ref);
        if (input === undefined) problems.push(`ratio input ${JSON.stringify(ref)} is not defined`);
        else if (isRatio(input)) problems.push(`ratio input ${ref} is itself a ratio`);
        else if (input.entity !== def.entity) problems.push(`ratio input ${ref} is a ${input.entity} feature`);
      }
    } else {
      problems.push(...tileFeatureProblems(def));
    }
    out.push(...problems.map((p) => `${def.name}: ${p}`));
  }
  return out;
}
