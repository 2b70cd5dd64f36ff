// Named Lua scripts (store/lua/<name>.lua), registered on a connection under a name that
// includes a hash of the script, so two versions of Tessera never call each other's code.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

const LUA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lua');

/** Return codes shared by the scripts. */
export enum ScriptCode {
  Conflict = -1,
  AlreadyApplied = 0,
  Applied = 1,
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
  readonly retriable = true;
}

export interface ScriptDef {
  name: string;
  versionedName: string;
  source: string;
  /** SHA-1 of source (hex): what EVALSHA takes */
  sha: string;
}

/**
 * A script's text with each `--#include <file>` line replaced by store/lua/include/<file>:
 * EVAL scripts cannot call each other, and two writers must share e.g. eviction verbatim.
 */
function withIncludes(text: string): string {
  return text.replace(/^--#include (\S+)$/gm, (_, file: string) => fs.readFileSync(path.join(LUA_DIR, 'include', file), 'utf8').trimEnd());
}

function load(name: string): ScriptDef {
  const source = withIncludes(fs.readFileSync(path.join(LUA_DIR, `${name}.lua`), 'utf8'));
  const sha = createHash('sha1').update(source).digest('hex');
  return { name, versionedName: `${name.replace(/-/g, '_')}_${sha.slice(0, 8)}`, source, sha };
}

export const SCRIPTS = {
  applyEntity: load('apply-entity'),
  /** backfill: clear-and-write of recomputed tiles (TileStore.replace) */
  replaceEntity: load('replace-entity'),
  /** read-only: an entity's tile hashes, packed (store/reader.ts) */
  readTiles: load('read-tiles'),
} as const;

const registered = new WeakSet<Redis>();

/** Defines every script on this connection (EVALSHA with automatic EVAL fallback). */
export function registerScripts(redis: Redis): void {
  if (registered.has(redis)) return;
  for (const def of Object.values(SCRIPTS)) redis.defineCommand(def.versionedName, { lua: def.source });
  registered.add(redis);
}

type ScriptCall = (keys: string[], argv: string[]) => Promise<unknown>;

/**
 * Calls a registered script with a variable number of keys. The key and argument lists are
 * passed as arrays, which ioredis flattens once into the command: spread into the call, a
 * request's hundreds of arguments were copied four times on their way to the socket.
 */
export function callScript(redis: Redis | ReturnType<Redis['pipeline']>, def: ScriptDef, keys: string[], argv: (string | Buffer)[]): Promise<unknown> | unknown {
  const fn = (redis as unknown as Record<string, (...args: (number | (string | Buffer)[])[]) => Promise<unknown>>)[def.versionedName];
  if (typeof fn !== 'function') throw new Error(`script ${def.name} is not registered on this connection`);
  return fn.call(redis, keys.length, keys, argv);
}

export type { ScriptCall };
