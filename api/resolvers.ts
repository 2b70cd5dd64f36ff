// Resolvers of the schema in schema-sdl.ts. Scopes are checked before any resolver runs
// (plugins/use-auth.ts); here: input checks (ids cap, names, tables), the routed reads
// of service.ts, and the job system (NOT_AVAILABLE until one is wired in).
import type { GraphQLResolveInfo } from 'graphql';
import { EVENT_BOUNDS } from '../core/event.js';
import { ENTITIES, isRatio, type Entity, type FeatureDefinition } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';
import type { FeatureContext } from './context.js';
import { ApiError, partialError } from './errors.js';
import type { ApiLimits } from './limits.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';
import { fieldType, listField, typeName } from './schema-sdl.js';
import { selectedFieldNames } from './selection.js';
import { parseEntity, type FeatureRowResult, type FeatureService } from './service.js';
import type { JobSource } from './sources.js';

export interface ResolverDeps {
  registry: Registry;
  service: FeatureService;
  limits: Pick<ApiLimits, 'maxIdsPerRequest'>;
  jobs?: JobSource;
}

type Resolver<A, R> = (parent: unknown, args: A, ctx: FeatureContext, info: GraphQLResolveInfo) => Promise<R> | R;

/** A row of a typed entity field: the values plus why some are missing. */
interface TypedRow extends FeatureRowResult {
  error?: ApiError;
}

/** Plain table names in the configured database (the job queue accepts nothing else). */
const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Counts ids against the per-request cap and checks each id. */
function takeIds(ctx: FeatureContext, ids: readonly string[], max: number): void {
  const total = (ctx.idsRequested ?? 0) + ids.length;
  ctx.idsRequested = total;
  if (total > max) {
    throw new ApiError('TOO_MANY_IDS', `too many ids: ${total} in this request, the limit is ${max}; split the request`, { details: { limit: max, requested: total } });
  }
  for (const id of ids) {
    if (id.length === 0 || id.length > EVENT_BOUNDS.optionalStringMaxLength) {
      throw new ApiError('BAD_USER_INPUT', `ids must be 1-${EVENT_BOUNDS.optionalStringMaxLength} characters long, got ${JSON.stringify(id.slice(0, 40))}${id.length > 40 ? '...' : ''}`);
    }
  }
}

function definitionView(def: FeatureDefinition, registry: Registry) {
  return {
    name: def.name,
    entity: def.entity,
    description: def.description,
    aggregation: def.aggregation,
    valueType: fieldType(def),
    window: isRatio(def) ? null : def.window,
    filter: isRatio(def) ? null : (def.filter ?? null),
    value: isRatio(def) ? null : (def.value ?? null),
    inputs: isRatio(def) ? [def.numerator, def.denominator] : null,
    retentionMs: registry.retentionMs(def.name),
  };
}

function checkNames(registry: Registry, names: readonly string[] | undefined): void {
  const all = registry.features.map((d) => d.name);
  for (const n of names ?? []) {
    if (!registry.has(n)) throw new ApiError('UNKNOWN_FEATURE', `unknown feature ${JSON.stringify(n)}; valid features: ${all.join(', ')}`, { details: { validNames: all } });
  }
}

function checkTable(arg: string, value: string): void {
  if (!TABLE.test(value)) throw new ApiError('BAD_USER_INPUT', `${arg} must be a table name in the Tessera database (letters, digits, _), got ${JSON.stringify(value)}`);
}

/** The job queue validates inputs once more (offline/jobs/queue.ts): its refusal is the user's error. */
async function asUserInput<T>(start: Promise<T>): Promise<T> {
  try {
    return await start;
  } catch (error) {
    if (error instanceof Error && error.name === 'JobInputError') throw new ApiError('BAD_USER_INPUT', error.message);
    throw error;
  }
}

function jobsOrThrow(jobs: JobSource | undefined, what: string): JobSource {
  if (jobs === undefined) throw new ApiError('NOT_AVAILABLE', `${what} is not available yet: the job system (BullMQ) is not running in this server`);
  return jobs;
}

export function createResolvers(d: ResolverDeps) {
  const requestNow = (ctx: FeatureContext): number => (ctx.requestNow ??= d.service.clock());

  const features: Resolver<{ entity: string; ids: string[]; names: string[]; asOf?: number | null }, FeatureRowResult[]> =
    async (_p, args, ctx) => {
      const entity = parseEntity(args.entity);
      const names = d.service.resolveNames(entity, args.names);
      takeIds(ctx, args.ids, d.limits.maxIdsPerRequest);
      const result = await d.service.read(entity, args.ids, names, args.asOf ?? undefined, requestNow(ctx));
      if (result.offlineError) throw result.offlineError;
      return result.rows;
    };

  const typedList = (entity: Entity): Resolver<{ ids: string[]; asOf?: number | null }, TypedRow[]> => async (_p, args, ctx, info) => {
    const selected = selectedFieldNames(info);
    const names = d.registry.forEntity(entity).map((def) => def.name).filter((n) => selected.has(n));
    takeIds(ctx, args.ids, d.limits.maxIdsPerRequest);
    const result = await d.service.read(entity, args.ids, names, args.asOf ?? undefined, requestNow(ctx));
    const error = result.offlineError && partialError(result.offlineError);
    return result.rows.map((r) => (error ? { ...r, error } : r));
  };

  const featureField = (name: string) => (row: TypedRow) => {
    if (row.unavailable.includes(name)) throw row.error ?? new ApiError('OFFLINE_UNAVAILABLE', `${name} could not be answered`);
    return row.values[name] ?? null;
  };

  const entities = ENTITIES.filter((e) => d.registry.forEntity(e).length > 0);
  const query: Record<string, Resolver<never, unknown>> = {
    features: features as Resolver<never, unknown>,
    featureDefinitions: () => d.registry.features.map((def) => definitionView(def, d.registry)),
    job: (async (_p: unknown, args: { id: string }) => jobsOrThrow(d.jobs, 'job()').get(args.id)) as Resolver<never, unknown>,
  };
  for (const e of entities) query[listField(e)] = typedList(e) as Resolver<never, unknown>;

  const typed = Object.fromEntries(entities.map((e) => [typeName(e),
    Object.fromEntries(d.registry.forEntity(e).map((def) => [def.name, featureField(def.name)]))]));

  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: query,
    Mutation: {
      backfill: async (_p: unknown, args: { from: number; to: number; names?: string[] | null }) => {
        if (!(args.from < args.to)) throw new ApiError('BAD_USER_INPUT', `backfill needs from < to, got ${new Date(args.from).toISOString()} .. ${new Date(args.to).toISOString()}`);
        if (args.from < 0) throw new ApiError('BAD_USER_INPUT', `backfill from must not be before 1970, got ${new Date(args.from).toISOString()}`);
        if (args.names !== null && args.names !== undefined && args.names.length === 0) throw new ApiError('BAD_USER_INPUT', 'backfill names: omit it for every feature, or name at least one');
        checkNames(d.registry, args.names ?? undefined);
        return asUserInput(jobsOrThrow(d.jobs, 'backfill').backfill({ from: args.from, to: args.to, names: args.names ?? undefined }));
      },
      trainingDataset: async (_p: unknown, args: { labelsTable: string; names: string[]; outputTable: string }) => {
        checkTable('labelsTable', args.labelsTable);
        checkTable('outputTable', args.outputTable);
        if (args.names.length === 0) throw new ApiError('BAD_USER_INPUT', 'trainingDataset needs at least one feature name');
        checkNames(d.registry, args.names);
        const entities = new Set(args.names.map((n) => d.registry.get(n).entity));
        if (entities.size > 1) throw new ApiError('BAD_USER_INPUT', `trainingDataset names must be features of one entity (the labels' entity), got ${[...entities].join(' and ')} features`);
        return asUserInput(jobsOrThrow(d.jobs, 'trainingDataset').trainingDataset(args));
      },
    },
    ...typed,
  };
}
