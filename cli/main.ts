// The `tessera` command line (DESIGN §8). Every command lives in cli/commands/.
import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerChaos } from './commands/chaos.js';
import { registerDemo } from './commands/demo.js';
import { registerGenerate } from './commands/generate.js';
import { registerImport } from './commands/import.js';
import { registerRun } from './commands/run.js';
import { registerStack } from './commands/stack.js';
import { registerJobs } from './commands/jobs.js';
import { registerSoak } from './commands/soak.js';

const program = new Command('tessera')
  .description('Tessera: a Kafka-native clickstream feature store')
  .showHelpAfterError()
  .exitOverride();

registerStack(program);
registerGenerate(program);
registerImport(program);
registerDemo(program);
registerRun(program);
registerBench(program);
registerJobs(program);
registerSoak(program);
registerChaos(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    const e = err as Error;
    console.error(`tessera: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`);
    if (process.env.TESSERA_DEBUG) console.error(e.stack);
    process.exitCode = 1;
  }
}
