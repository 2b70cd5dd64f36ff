// The offline sink's own copy of the per-user acceptance state (DESIGN §3), in Redis under
// its own namespace: `<prefix>:o1:{u:<id>}:m`, a hash per user (Redis-Cluster safe: one
// hash tag per user) with `o:<partition>` = offset of the last record judged into the
// state, and the state as an append log: `n` segments in fields `s:0` .. (state-log.ts).
// The online worker keeps its own copy (store/keys.ts): the two paths judge the same
// records with the same pure core, so they agree, and neither can corrupt the other's.
//
// Written only after ClickHouse acknowledged the batch, by commit-user.lua with a
// compare-and-set on the marker (see the script header).
//
// Values written before the log existed (the whole state in the field `acc`) are still
// read, so the version stays 1: the first commit of such a user replaces it by a snapshot.
// Going back to code older than the log is not supported (it would read an empty state).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { AcceptanceStateError, emptyAcceptanceState, type AcceptanceState } from '../../core/acceptance.js';
import type { Registry } from '../../core/features/registry.js';
import { escapeId } from '../../store/keys.js';
import { WALL_SLACK_MS } from '../../store/tile-store.js';
import { CommitCode, decodeLog, EMPTY_LOG, UNKNOWN_LOG, type LogCursor, type StateWrite } from './state-log.js';

export { CommitCode } from './state-log.js';

/** Bump when the key layout changes incompatibly: old state is then ignored instead of misread. */
export const OFFLINE_STATE_VERSION = 1;

const SOURCE = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'commit-user.lua'), 'utf8');
/** Registered under a name holding a hash of the source, so two versions never call each other's code. */
const SCRIPT_NAME = `tessera_offline_commit_user_${createHash('sha1').update(SOURCE).digest('hex').slice(0, 8)}`;

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
  /** where the stored log ends (absent: unknown, the first write replaces it) */
  log?: LogCursor;
}

export interface UserCommit {
  userId: string;
  expectedRaw: string;
  newMarker: number;
  /** the change to the user's stored log */
  write: StateWrite;
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
  /** `latenessMs`: L of the acceptance rules, which reading a log applies (state-log.ts) */
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly ttlMs: number, private readonly latenessMs: number) {
    redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 1, lua: SOURCE });
  }

  /** The stored state of these users for `partition`: one round trip (one HGETALL per user: marker and log read together). */
  async load(partition: number, users: readonly string[]): Promise<Map<string, StoredUser>> {
    const out = new Map<string, StoredUser>();
    if (users.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const u of users) pipe.hgetall(offlineStateKey(this.prefix, u));
    const replies = (await pipe.exec()) ?? [];
    users.forEach((u, i) => {
      const [err, value] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      out.set(u, this.parse(partition, (value ?? {}) as Record<string, string>));
    });
    return out;
  }

  private parse(partition: number, hash: Record<string, string>): StoredUser {
    const raw = hash[`o:${partition}`];
    const base = { raw: raw ?? '', marker: raw === undefined ? -1 : Number(raw) };
    const n = Number(hash.n ?? 0);
    if (n === 0 && hash.acc !== undefined) return { ...base, state: decodeLog([hash.acc], this.latenessMs).state, log: UNKNOWN_LOG };
    if (n === 0) return { ...base, state: emptyAcceptanceState(), log: EMPTY_LOG };
    const segments = Array.from({ length: n }, (_, k) => hash[`s:${k}`]);
    if (!segments.every((s) => s !== undefined)) throw new AcceptanceStateError(`offline state log of ${n} segments has some missing`);
    const { state, units } = decodeLog(segments as string[], this.latenessMs);
    return { ...base, state, log: { segments: n, units } };
  }

  /** Compare-and-set of each user's marker and state, in one pipeline. Codes in input order. */
  async commit(partition: number, commits: readonly UserCommit[]): Promise<CommitCode[]> {
    if (commits.length === 0) return [];
    const pipe = this.redis.pipeline();
    const call = (pipe as unknown as Record<string, (...args: string[]) => unknown>)[SCRIPT_NAME];
    if (call === undefined) throw new Error('commit-user script is not registered');
    for (const c of commits) {
      const w = c.write;
      call.call(pipe, offlineStateKey(this.prefix, c.userId), String(partition), c.expectedRaw, String(c.newMarker),
        w.mode === 'append' ? 'a' : 's', w.payload, String(w.expectedSegments), String(this.ttlMs));
    }
    const replies = (await pipe.exec()) ?? [];
    return commits.map((_, i) => {
      const [err, code] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      return Number(code) as CommitCode;
    });
  }
}
