// The schema: DESIGN §6's binding part, plus typed per-entity fields generated from the
// registry (types from outputType, descriptions from the definitions), so a new feature
// appears with no API change; typed queries compute only the fields they select.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildSchema, getNamedType, isListType, isNonNullType, type GraphQLField, type GraphQLObjectType } from 'graphql';
import type { Entity } from '../core/features/definition.js';
import { DEFAULT_CATALOG } from '../core/features/catalog.js';
import { createRegistry } from '../core/features/registry.js';
import { DAY, HOUR } from '../core/windows.js';
import type { EntityReading } from '../store/reader.js';
import { schemaSDL } from './schema-sdl.js';
import type { OnlineSource } from './sources.js';
import { gql, startTestApi, type TestApi } from './test-support.js';

const EXTRA = { name: 'user_favorites_7d', entity: 'user', aggregation: 'count', filter: { eventTypes: ['favorite'] },
  window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR }, description: 'Favorites by the user in the last 7 days.' } as const;
const registry = createRegistry({ features: [...DEFAULT_CATALOG, EXTRA] });
const schema = buildSchema(schemaSDL(registry));
const typeOf = (f: GraphQLField<unknown, unknown> | undefined): string => String(f?.type);

test('binding part of DESIGN §6', () => {
  const q = schema.getQueryType()?.getFields() ?? {};
  assert.equal(typeOf(q.features), '[FeatureRow!]!');
  assert.deepEqual(q.features?.args.map((a) => `${a.name}: ${String(a.type)}`), ['entity: String!', 'ids: [String!]!', 'names: [String!]!', 'asOf: DateTime']);
  assert.equal(typeOf(q.featureDefinitions), '[FeatureDefinition!]!');
  assert.equal(typeOf(q.job), 'Job');
  assert.deepEqual(q.job?.args.map((a) => `${a.name}: ${String(a.type)}`), ['id: ID!']);
  const row = (schema.getType('FeatureRow') as GraphQLObjectType).getFields();
  assert.deepEqual(Object.entries(row).map(([k, f]) => `${k}: ${typeOf(f)}`), ['id: String!', 'asOf: DateTime!', 'values: JSON!', 'source: String!']);
  const m = schema.getMutationType()?.getFields() ?? {};
  assert.deepEqual(m.backfill?.args.map((a) => `${a.name}: ${String(a.type)}`), ['from: DateTime!', 'to: DateTime!', 'names: [String!]']);
  assert.equal(typeOf(m.backfill), 'Job!');
  assert.deepEqual(m.trainingDataset?.args.map((a) => `${a.name}: ${String(a.type)}`), ['labelsTable: String!', 'names: [String!]!', 'outputTable: String!']);
  assert.equal(typeOf(m.trainingDataset), 'Job!');
});

test('one typed field per feature, with its definition as description', () => {
  const q = schema.getQueryType()?.getFields() ?? {};
  assert.equal(typeOf(q.users), '[User!]!');
  assert.deepEqual(q.users?.args.map((a) => `${a.name}: ${String(a.type)}`), ['ids: [String!]!', 'asOf: DateTime']);
  assert.equal(typeOf(q.items), '[Item!]!');
  for (const entity of ['user', 'item'] as Entity[]) {
    const fields = (schema.getType(entity === 'user' ? 'User' : 'Item') as GraphQLObjectType).getFields();
    for (const def of registry.forEntity(entity)) {
      const f = fields[def.name];
      assert.ok(f, `${def.name} is a field`);
      assert.equal(f.description, def.description);
      assert.ok(!isNonNullType(f.type), 'nullable: a value that cannot be answered is null with an error');
    }
  }
  const user = (schema.getType('User') as GraphQLObjectType).getFields();
  assert.equal(typeOf(user.user_views_1h), 'Int');
  assert.equal(typeOf(user.user_favorites_7d), 'Int', 'a feature added to the registry appears');
  assert.equal(typeOf(user.user_last_5_items), '[String!]');
  assert.equal(typeOf(user.user_revenue_7d), 'Float');
  assert.equal(typeOf(user.user_avg_view_price_24h), 'Float');
  assert.equal(typeOf(user.user_cart_rate_24h), 'Float');
  assert.ok(isListType(user.user_top_3_categories_7d?.type) && getNamedType(user.user_top_3_categories_7d.type).name === 'String');
});

let t: TestApi;
const calls: { entity: Entity; names: readonly string[] }[] = [];
const online: OnlineSource = {
  async read(entity, ids, names) {
    calls.push({ entity, names });
    return ids.map((id): EntityReading => ({ id, values: Object.fromEntries(names.map((n) => [n, n.endsWith('items') ? ['i1'] : 3])), inexact: [] }));
  },
};
before(async () => { t = await startTestApi({ registry, online, offline: { features: async () => new Map() } }); });
after(() => t.stop());

test('introspection shows the generated fields and descriptions (development mode)', async () => {
  const r = await gql(t.url, '{ __type(name: "User") { fields { name description type { kind name ofType { name } } } } }');
  assert.equal(r.status, 200);
  const fields = r.body.data.__type.fields as { name: string; description: string }[];
  assert.equal(fields.find((f) => f.name === 'user_favorites_7d')?.description, EXTRA.description);
  assert.equal(fields.length, 3 + registry.forEntity('user').length);
});

test('typed queries read only the selected features, through fragments too', async () => {
  calls.length = 0;
  const r = await gql(t.url, `query($ids: [String!]!) {
    users(ids: $ids, asOf: "2024-03-01T12:00:00+01:00") { id asOf source user_views_1h ...F ... on User { user_favorites_7d } }
    items(ids: ["i1"]) { id item_views_24h }
  } fragment F on User { user_last_5_items }`, { variables: { ids: ['u1', 'u2'] } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data.users[0], { id: 'u1', asOf: '2024-03-01T11:00:00.000Z', source: 'redis', user_views_1h: 3, user_last_5_items: ['i1'], user_favorites_7d: 3 });
  assert.equal(r.body.data.users.length, 2);
  assert.deepEqual(r.body.data.items, [{ id: 'i1', item_views_24h: 3 }]);
  const byEntity = Object.fromEntries(calls.map((c) => [c.entity, [...c.names].sort()]));
  assert.deepEqual(byEntity, { user: ['user_favorites_7d', 'user_last_5_items', 'user_views_1h'], item: ['item_views_24h'] });
});

test('featureDefinitions documents every feature', async () => {
  const r = await gql(t.url, '{ featureDefinitions { name entity description aggregation valueType window filter value inputs retentionMs } }');
  const defs = r.body.data.featureDefinitions as Record<string, unknown>[];
  assert.deepEqual(defs.map((d) => d.name), registry.features.map((d) => d.name));
  const ratio = defs.find((d) => d.name === 'user_cart_rate_24h');
  assert.deepEqual(ratio, { name: 'user_cart_rate_24h', entity: 'user', description: registry.get('user_cart_rate_24h').description, aggregation: 'ratio',
    valueType: 'Float', window: null, filter: null, value: null, inputs: ['user_carts_24h', 'user_views_24h'], retentionMs: registry.retentionMs('user_cart_rate_24h') });
  assert.deepEqual(defs.find((d) => d.name === 'user_views_1h')?.window, { kind: 'sliding', sizeMs: HOUR, hopMs: 60_000 });
});
