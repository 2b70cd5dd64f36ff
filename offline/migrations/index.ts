// Every migration, in order. Append new ones; never edit an applied one (the runner
// compares checksums and refuses to run when an applied migration changed).
import type { Migration } from './ddl.js';
import { migration as m001 } from './001_table_docs.js';
import { migration as m002 } from './002_events.js';
import { migration as m003 } from './003_rejected_events.js';
import { migration as m004 } from './004_analyst_views.js';
import { migration as m005 } from './005_feature_values_labels.js';
import { migration as m006 } from './006_events_by_item_user_key.js';

export const MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005, m006];

export type { Migration } from './ddl.js';
