// The per-request GraphQL context: who is asking (plugins/use-auth.ts) and how many ids
// the request has asked for so far (the ids-per-request cap spans every field).
import type { YogaInitialContext } from 'graphql-yoga';
import type { Principal } from './auth.js';

/** What the resolvers read: the same on yoga's path and on the fast lane (fast-lane.ts). */
export interface FeatureContext {
  principal?: Principal;
  /** ids requested by the fields resolved so far */
  idsRequested?: number;
  /**
   * "Now" of this request, taken when the first field needs it: every field without asOf
   * reads this same instant, so a user's and its candidate items' features line up.
   */
  requestNow?: number;
}

export interface ApiContext extends YogaInitialContext, FeatureContext {
  /**
   * A request the fast lane passed on (fast-lane.ts): its deadline (performance.now() ms),
   * counted from when it arrived, which plugins/use-timeout.ts keeps.
   */
  deadline?: number;
}
