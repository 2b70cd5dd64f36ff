// YOUR FEATURES GO HERE. This is the one place to add a feature: the registry merges this
// list after the default catalog, and the stream worker, online reader, offline SQL, API
// schema and docs all pick it up from the registry; nothing else needs to change.
// Names must be new lowercase snake_case; invalid definitions stop every process at
// start-up with a list of problems. Example:
//
//   import { DAY, HOUR } from '../windows.js';
//   { name: 'user_favorites_7d', entity: 'user', aggregation: 'count',
//     filter: { eventTypes: ['favorite'] }, window: { kind: 'sliding', sizeMs: 7 * DAY, hopMs: HOUR },
//     description: 'Favorites by the user in the last 7 days.' },
//
// Changing what an existing feature means (filter, value, tile size, ...) moves it to new
// tiles automatically; bump `version` to force fresh tiles otherwise. Backfill to fill them.
import type { FeatureDefinition } from './definition.js';

export const CUSTOM_FEATURES: readonly FeatureDefinition[] = [];
