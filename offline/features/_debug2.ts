import { createRegistry } from '../../core/features/registry.js';
import { featureQuery } from './query.js';
import { literalLabels } from './offline-features.js';
import { TEST_FEATURES } from './test-fixtures.js';
const registry = createRegistry({ features: TEST_FEATURES });
const T = Number(process.argv[4]);
const q = featureQuery({ db: process.argv[2] ?? 'x', entity: 'user', defs: process.argv[5]!.split(',').map((n) => registry.get(n)), lookup: (n) => registry.get(n), labels: literalLabels([{ id: 'u1', T }]), minT: T, maxT: T, sessions: (process.argv[3] ?? 'unbounded') as 'unbounded', maxFutureMs: 300000 });
console.log(q.text);
