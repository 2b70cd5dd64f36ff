// A counting semaphore: at most `limit` holders at once, the others wait in FIFO order.
// TileStore.apply takes one permit per pipeline chunk in flight, so the Redis work queued on
// the connection stays bounded whatever the batch sizes and the number of partitions
// processed at once: a per-command timeout then measures Redis, not the queue before it.
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`semaphore limit must be at least 1, got ${limit}`);
  }

  async acquire(): Promise<void> {
    if (this.held < this.limit) {
      this.held += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Hands the permit to the next waiter, if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.held -= 1;
  }
}
