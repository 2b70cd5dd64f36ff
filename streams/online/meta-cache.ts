// Per-partition cache of entity markers and acceptance states. The worker owning a
// partition is the only writer of these values, so the cache stays true while it owns the
// partition; it is dropped on rebalance or error. Bounded: least recently used go first.
import type { EntityMeta, UserMeta } from '../../store/tile-store.js';

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly limit: number) {}

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      // Re-insert: Map iteration order is insertion order, so the oldest entry is first.
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** get without refreshing the entry's recency (for lookups of entries set again soon anyway) */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  clear(): void {
    this.map.clear();
  }
}

export class MetaCache {
  readonly users: BoundedMap<string, UserMeta>;
  readonly items: BoundedMap<string, EntityMeta>;

  constructor(limit: number) {
    this.users = new BoundedMap(limit);
    this.items = new BoundedMap(limit);
  }

  clear(): void {
    this.users.clear();
    this.items.clear();
  }
}
