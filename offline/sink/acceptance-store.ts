// The offline sink's own copy of the per-user acceptance state (DESIGN §3), in Redis under
// its own namespace: `<prefix>:o1:{u:<id>}:m`, a hash per user (Redis-Cluster safe: one
// hash tag per user) with `o:<partition>` = offset of the last record judged into the state
// and `acc` = the serialized state. The online worker keeps its own copy (store/keys.ts):
// the two paths judge the same records with the same pure core, so they agree, and neither
// can corrupt the other's.
//
// Written only after ClickHouse acknowledged the batch, by commit-user.lua with a
// compare-and-set on the marker (see the script header).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { emptyAcceptanceState, parseAcceptanceState, type AcceptanceState } from '../../core/acceptance.js';
import type { Registry } from '../../core/features/registry.js';
import { escapeId } from '../../store/keys.js';
import { WALL_SLACK_MS } from '../../store/tile-store.js';

/** Bump when the hash layout changes: old state is then ignored instead of misread. */
export const OFFLINE_STATE_VERSION = 1;

const SOURCE = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'commit-user.lua'), 'utf8');
/** Registered under a name holding a hash of the source, so two versions never call each other's code. */
const SCRIPT_NAME = `tessera_offline_commit_user_${createHash('sha1').update(SOURCE).digest('hex').slice(0, 8)}`;

export enum CommitCode {
  Conflict = -1,
  AlreadyApplied = 0,
  Applied = 1,
}

export function offlineStateKey(prefix: string, userId: string): string {
  return `${prefix}:o${OFFLINE_STATE_VERSION}:{u:${escapeId(userId)}}:m`;
}

/** A user's stored state for one partition. */
export interface StoredUser {
  /** the raw marker ('' when absent): the expected value of the next compare-and-set */
  raw: string;
  /** offset of the last judged record, -1 when none */
  marker: number;
  state: AcceptanceState;
}

export interface UserCommit {
  userId: string;
  expectedRaw: string;
  newMarker: number;
  /** serialized acceptance state */
  state: string;
}

/**
 * How long an idle user's state lives: the online worker's meta retention (largest series
 * retention + slack), so both paths forget a long-idle user at about the same time.
 */
export function stateTtlMs(registry: Registry): number {
  let max = registry.latenessMs;
  for (const s of registry.series.values()) max = Math.max(max, s.retentionMs);
  return max + WALL_SLACK_MS;
}

export class AcceptanceStore {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly ttlMs: number) {
    redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 1, lua: SOURCE });
  }

  /** The stored state of these users for `partition`: one round trip. */
  async load(partition: number, users: readonly string[]): Promise<Map<string, StoredUser>> {
    const out = new Map<string, StoredUser>();
    if (users.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const u of users) pipe.hmget(offlineStateKey(this.prefix, u), `o:${partition}`, 'acc');
    const replies = (await pipe.exec()) ?? [];
    users.forEach((u, i) => {
      const [err, value] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      const [raw, acc] = value as [string | null, string | null];
      out.set(u, {
        raw: raw ?? '',
        marker: raw === null ? -1 : Number(raw),
        state: acc ? parseAcceptanceState(acc) : emptyAcceptanceState(),
      });
    });
    return out;
  }

  /** Compare-and-set of each user's marker and state, in one pipeline. Codes in input order. */
  async commit(partition: number, commits: readonly UserCommit[]): Promise<CommitCode[]> {
    if (commits.length === 0) return [];
    const pipe = this.redis.pipeline();
    const call = (pipe as unknown as Record<string, (...args: string[]) => unknown>)[SCRIPT_NAME];
    if (call === undefined) throw new Error('commit-user script is not registered');
    for (const c of commits) {
      call.call(pipe, offlineStateKey(this.prefix, c.userId), String(partition), c.expectedRaw, String(c.newMarker), c.state, String(this.ttlMs));
    }
    const replies = (await pipe.exec()) ?? [];
    return commits.map((_, i) => {
      const [err, code] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      return Number(code) as CommitCode;
    });
  }
}
