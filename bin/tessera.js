#!/usr/bin/env node
// Entry point: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';
import { rerunWithApiFlags } from './api-node-flags.js';

// Production mode is production for the libraries too: graphql-js, when NODE_ENV is not
// 'production', replaces every instanceof check of its type system (several per field
// resolved) with a slower one that looks for duplicate graphql copies (~3% of the API's
// CPU in `tessera bench --scenario serve`). Read once, when graphql loads, hence here.
if (process.env.TESSERA_MODE === 'production' && process.env.NODE_ENV === undefined) process.env.NODE_ENV = 'production';

// A production API re-runs itself once with its V8 heap flags (api-node-flags.js).
if (!(await rerunWithApiFlags())) {
  register();
  await import('../cli/main.ts');
}
