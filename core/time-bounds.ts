// The query times that an evaluation cannot tell apart from its own T. Window walks compare
// T (or a tile-aligned floor of T) with tile starts and event times; each comparison is
// made through this object, which narrows [from, until) to the times T' for which the same
// comparison has the same outcome. Every T' left in the range takes the same path through
// the walk, so it reads the same tiles and gets the same result (recency, whose value is
// T - last event, aside). The API reuses a "latest" evaluation while now stays in range.
import { floorTo } from './windows.js';

export class TimeBounds {
  /** first query time with the same outcomes (inclusive) */
  from = -Infinity;
  /** first query time after T with a different outcome (exclusive) */
  until = Infinity;

  constructor(readonly T: number) {}

  /** x < T, and the range of T' for which x < T' is the same answer. Times are integer ms. */
  before(x: number): boolean {
    const edge = Math.floor(x) + 1; // x < T' <=> T' >= edge
    if (x < this.T) {
      if (edge > this.from) this.from = edge;
      return true;
    }
    if (edge < this.until) this.until = edge;
    return false;
  }

  /** floorTo(T - offset, size), and the range of T' with the same floor. */
  floor(offset: number, size: number): number {
    const f = floorTo(this.T - offset, size);
    this.within(f + offset, f + offset + size);
    return f;
  }

  /** Narrows to [from, until) (an interval known to hold T). */
  within(from: number, until: number): void {
    if (from > this.from) this.from = from;
    if (until < this.until) this.until = until;
  }

  has(T: number): boolean {
    return T >= this.from && T < this.until;
  }
}
