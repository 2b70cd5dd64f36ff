// `tessera soak`: a long steady run of the four processes on a private namespace, sampling
// process and Redis memory (reliability/soak*.ts). Placeholder until the soak lands.
import type { Command } from 'commander';

export function registerSoak(program: Command): void {
  program.command('soak')
    .description('soak run: steady stream, all four processes, memory curves as CSV and PNG')
    .action(() => {
      throw new Error('tessera soak is not implemented yet');
    });
}
