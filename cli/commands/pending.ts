// Commands of DESIGN §8 whose engines land with later issues. They are registered so the
// CLI surface is complete, and they say plainly which piece they are waiting for.
import type { Command } from 'commander';

class NotYetAvailableError extends Error {
  override name = 'NotYetAvailable';
}

function pending(what: string): () => never {
  return () => {
    throw new NotYetAvailableError(`${what} is not available in this build yet`);
  };
}

export function registerPending(program: Command): void {
  program.command('backfill').description('recompute Redis tiles for a time range from ClickHouse').action(pending('`tessera backfill`'));
  program.command('dataset').description('build a point-in-time correct training set from a labels CSV').action(pending('`tessera dataset`'));
  program.command('skew').description('compare online answers with offline recomputation').action(pending('`tessera skew`'));
}
