// The feature registry: the default catalog plus the user's own features (custom.ts),
// validated once, with the tile series they are stored in and their retention. Every
// process builds one from its configured lateness and asks it everything.
import { windowSpanMs } from '../windows.js';
import { DEFAULT_CATALOG } from './catalog.js';
import { CUSTOM_FEATURES } from './custom.js';
import { isRatio, type Entity, type FeatureDefinition, type TileFeature } from './definition.js';
import { seriesIdOf, seriesSignature, selectorOf, type Series } from './series.js';
import { irKindOf } from '../aggregators.js';
import { tileMsFor } from '../windows.js';
import { FeatureDefinitionError, definitionProblems } from './validate.js';

/** DESIGN §3: events more than this before the user's latest accepted event are late. */
export const DEFAULT_LATENESS_MS = 10 * 60_000;

export interface Registry {
  readonly latenessMs: number;
  /** catalog order, then custom features */
  readonly features: readonly FeatureDefinition[];
  /** by series id */
  readonly series: ReadonlyMap<string, Series>;
  has(name: string): boolean;
  /** throws UnknownFeatureError */
  get(name: string): FeatureDefinition;
  seriesOf(def: TileFeature): Series;
  forEntity(entity: Entity): FeatureDefinition[];
  /** largest window span + lateness (for a ratio: of its inputs) */
  retentionMs(name: string): number;
  /** the tile sizes (= Redis hashes) holding an entity's series, ascending */
  tileSizes(entity: Entity): number[];
}

export class UnknownFeatureError extends Error {
  override name = 'UnknownFeatureError';
  constructor(readonly feature: string) {
    super(`unknown feature ${JSON.stringify(feature)}`);
  }
}

export interface RegistryOptions {
  /** default: the catalog plus CUSTOM_FEATURES */
  features?: readonly FeatureDefinition[];
  /** default: DEFAULT_LATENESS_MS */
  latenessMs?: number;
}

/** Validates definitions (throws FeatureDefinitionError listing every problem) and indexes them. */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const features = options.features ?? [...DEFAULT_CATALOG, ...CUSTOM_FEATURES];
  const latenessMs = options.latenessMs ?? DEFAULT_LATENESS_MS;
  if (!Number.isSafeInteger(latenessMs) || latenessMs < 0) throw new RangeError(`latenessMs must be an integer >= 0, got ${latenessMs}`);
  const problems = definitionProblems(features);
  if (problems.length > 0) throw new FeatureDefinitionError(problems);

  const byName = new Map(features.map((def) => [def.name, def]));
  const series = new Map<string, Series>();
  const signatures = new Map<string, string>();
  const seriesByFeature = new Map<string, Series>();
  for (const def of features) {
    if (isRatio(def)) continue;
    const id = seriesIdOf(def);
    const signature = seriesSignature(def);
    const retentionMs = windowSpanMs(def.window) + latenessMs;
    const known = series.get(id);
    if (known === undefined) {
      series.set(id, { ...selectorOf(def), id, ir: irKindOf(def.aggregation), limit: def.aggregation === 'last_n' ? (def.limit ?? 0) : 0,
        tileMs: tileMsFor(def.window), retentionMs, features: [def.name] });
      signatures.set(id, signature);
    } else if (signatures.get(id) !== signature) {
      throw new FeatureDefinitionError([`${def.name}: series id ${id} collides with ${known.features.join(', ')}; set or bump "version"`]);
    } else {
      known.features.push(def.name);
      known.retentionMs = Math.max(known.retentionMs, retentionMs);
    }
    seriesByFeature.set(def.name, series.get(id) as Series);
  }

  const get = (name: string): FeatureDefinition => {
    const def = byName.get(name);
    if (def === undefined) throw new UnknownFeatureError(name);
    return def;
  };
  const retentionMs = (name: string): number => {
    const def = get(name);
    if (isRatio(def)) return Math.max(retentionMs(def.numerator), retentionMs(def.denominator));
    return windowSpanMs(def.window) + latenessMs;
  };
  return {
    latenessMs,
    features,
    series,
    has: (name) => byName.has(name),
    get,
    seriesOf: (def) => {
      const found = seriesByFeature.get(def.name);
      if (found === undefined) throw new UnknownFeatureError(def.name);
      return found;
    },
    forEntity: (entity) => features.filter((def) => def.entity === entity),
    retentionMs,
    tileSizes: (entity) => [...new Set([...series.values()].filter((s) => s.entity === entity).map((s) => s.tileMs))].sort((a, b) => a - b),
  };
}

let defaultInstance: Registry | undefined;

/** The catalog + custom features with the default lateness (built once). */
export function defaultRegistry(): Registry {
  defaultInstance ??= createRegistry();
  return defaultInstance;
}
