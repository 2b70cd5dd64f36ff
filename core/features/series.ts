// Tile series: what is physically stored. A series is a feature's IR kind + normalised
// filter + value + time basis + tile size, named by a short hash of exactly those. Features
// that need the same IR share a series (user_session_events, user_session_duration_s and
// user_seconds_since_last_event all read one), and changing anything that alters the IR
// gives a new id, so old tiles are never misread; they simply expire.
import { irKindOf, type IrKind } from '../aggregators.js';
import type { Selector } from '../sample.js';
import { tileMsFor } from '../windows.js';
import { usesValue, valueField, type FilterField, type TileFeature } from './definition.js';

export interface Series extends Selector {
  /** 5 base-36 chars; part of every Redis field name of this series */
  id: string;
  ir: IrKind;
  /** N kept per tile for last_n; 0 otherwise */
  limit: number;
  tileMs: number;
  /** tiles live until tile end + retentionMs (largest span of its features + lateness) */
  retentionMs: number;
  /** feature names reading this series */
  features: string[];
}

/** The canonical selector of a feature: sorted lists, implied required fields added. */
export function selectorOf(def: TileFeature): Selector {
  const value = usesValue(def.aggregation) ? (def.value ?? null) : null;
  const requires = new Set<FilterField>(def.filter?.requires ?? []);
  if (def.value !== undefined) {
    const field = valueField(def.value);
    if (field !== undefined) requires.add(field);
  }
  if (def.entity === 'item') requires.add('item_id');
  const types = def.filter?.eventTypes ?? [];
  return {
    entity: def.entity,
    eventTypes: types.length === 0 ? null : [...new Set(types)].sort(),
    requires: [...requires].sort(),
    value,
    time: def.time ?? 'event',
  };
}

/** Everything that determines a series' stored bytes, as a canonical string. */
export function seriesSignature(def: TileFeature): string {
  const sel = selectorOf(def);
  const ir = irKindOf(def.aggregation);
  return JSON.stringify([
    sel.entity, ir, ir === 'last_n' ? (def.limit ?? 0) : 0, sel.eventTypes, sel.requires,
    sel.value, sel.time, tileMsFor(def.window), def.version ?? 0,
  ]);
}

/** FNV-1a (32 bit) of the signature, as 5 base-36 characters. Stable across processes and versions. */
export function seriesIdOf(def: TileFeature): string {
  const text = seriesSignature(def);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 36 ** 5).toString(36).padStart(5, '0');
}

/** Expiry of a tile in event-time ms: tile end + the series' retention (window + lateness). */
export function tileExpireAt(series: Pick<Series, 'tileMs' | 'retentionMs'>, tileStart: number): number {
  return tileStart + series.tileMs + series.retentionMs;
}
