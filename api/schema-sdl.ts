// The schema text: DESIGN §6's binding part, plus one typed object per entity generated
// from the registry (`users(ids, asOf): [User!]!` with one field per user feature, its
// type from outputType() and its description from the definition), so a new feature
// appears in the API with no API code change.
import { ENTITIES, outputType, type Entity, type FeatureDefinition } from '../core/features/definition.js';
import type { Registry } from '../core/features/registry.js';

/** Fields every entity object has besides its features. */
export const ROW_FIELDS = ['id', 'asOf', 'source'] as const;

export const typeName = (entity: Entity): string => entity.charAt(0).toUpperCase() + entity.slice(1);
export const listField = (entity: Entity): string => `${entity}s`;

/** A GraphQL string literal (JSON's escapes are a subset of GraphQL's). */
const str = (s: string): string => JSON.stringify(s);

/** The field type of a feature. Nullable: a value ClickHouse could not provide is null with an error at its path. */
export function fieldType(def: FeatureDefinition): string {
  const t = outputType(def);
  return t.list ? `[${t.scalar}!]` : t.scalar;
}

function entityType(entity: Entity, defs: readonly FeatureDefinition[]): string {
  const reserved = new Set<string>(ROW_FIELDS);
  const fields = defs.map((def) => {
    if (reserved.has(def.name)) throw new Error(`feature name ${def.name} collides with the ${typeName(entity)}.${def.name} field`);
    return `  ${str(def.description)}\n  ${def.name}: ${fieldType(def)}`;
  });
  return `${str(`Features of one ${entity} as of \`asOf\`: one field per ${entity} feature of the registry. Only the fields selected are computed.`)}
type ${typeName(entity)} {
  ${str(`The ${entity} id`)}
  id: String!
  ${str('The time the values are as of (the request time when asOf was omitted)')}
  asOf: DateTime!
  ${str('Which store answered the selected features: redis, clickhouse or mixed')}
  source: String!
${fields.join('\n')}
}`;
}

export function schemaSDL(registry: Registry): string {
  const entities = ENTITIES.filter((e) => registry.forEntity(e).length > 0);
  const entityFields = entities.map((e) => `  ${str(`Typed feature vectors of ${e}s (at most the ids-per-request limit), latest or as of a past time`)}
  ${listField(e)}(ids: [String!]!, asOf: DateTime): [${typeName(e)}!]!`).join('\n');
  return `${str('ISO-8601 date-time')}
scalar DateTime
${str('Any JSON value')}
scalar JSON

${str('Feature values of one entity as of one time')}
type FeatureRow {
  id: String!
  asOf: DateTime!
  ${str('Requested feature name -> value (number, list, or null)')}
  values: JSON!
  ${str('Which store answered: redis, clickhouse or mixed')}
  source: String!
}

${str('A feature of the registry (core/features)')}
type FeatureDefinition {
  name: String!
  ${str(`Entity kind: ${ENTITIES.join(' or ')}`)}
  entity: String!
  description: String!
  aggregation: String!
  ${str('GraphQL type of the value, e.g. Int, Float, [String!]')}
  valueType: String!
  ${str('Window spec (kind, sizeMs, hopMs, ...); null for ratios')}
  window: JSON
  ${str('Event filter (eventTypes, requires); null when every event counts')}
  filter: JSON
  ${str('Value expression read from events (price, item_id, ...)')}
  value: String
  ${str('Inputs of a ratio: [numerator, denominator]')}
  inputs: [String!]
  ${str('Online retention: largest window + allowed lateness, ms')}
  retentionMs: Float!
}

${str('A background job (BullMQ): backfill or training dataset')}
type Job {
  id: ID!
  kind: String!
  ${str('waiting, active, completed, failed, delayed, ...')}
  state: String!
  ${str('0..1 when known')}
  progress: Float
  createdAt: DateTime
  finishedAt: DateTime
  error: String
  result: JSON
}

${entities.map((e) => entityType(e, registry.forEntity(e))).join('\n\n')}

type Query {
  ${str('Feature vectors: one row per id, with every requested feature as of asOf (omitted: now)')}
  features(entity: String!, ids: [String!]!, names: [String!]!, asOf: DateTime): [FeatureRow!]!
  ${str('Every feature the API serves')}
  featureDefinitions: [FeatureDefinition!]!
  ${str('A job by id (null when unknown)')}
  job(id: ID!): Job
${entityFields}
}

type Mutation {
  ${str('Recompute online tiles for [from, to) from ClickHouse (admin scope)')}
  backfill(from: DateTime!, to: DateTime!, names: [String!]): Job!
  ${str('Build a point-in-time training set from a labels table (admin scope)')}
  trainingDataset(labelsTable: String!, names: [String!]!, outputTable: String!): Job!
}
`;
}
