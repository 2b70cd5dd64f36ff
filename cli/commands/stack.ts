// `tessera up | down | status`
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { down, status, up } from '../../stack/stack.js';

export function registerStack(program: Command): void {
  program.command('up')
    .description('install what is missing, start Kafka (KRaft), ClickHouse and Redis under the data folder, create topics; idempotent')
    .action(async () => {
      const config = loadConfig();
      const t0 = Date.now();
      const results = await up(config, (m) => console.log(`  ${m}`));
      for (const r of results) console.log(`${r.service.padEnd(11)} ${r.outcome.padEnd(16)} ${(r.ms / 1000).toFixed(1)} s`);
      console.log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s (data: ${config.dataDir})`);
    });

  program.command('down')
    .description('stop the services that `tessera up` started (data is kept)')
    .action(async () => {
      for (const r of await down(loadConfig())) console.log(`${r.service.padEnd(11)} ${r.stopped ? 'stopped' : 'was not running'}`);
    });

  program.command('status')
    .description('show each local service: running, stopped, external or unhealthy')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await status(loadConfig());
      if (opts.json) console.log(JSON.stringify(list, null, 2));
      else for (const s of list) console.log(`${s.name.padEnd(11)} ${s.state.padEnd(10)} ${s.endpoint}${s.pid ? `  pid ${s.pid}` : ''}${s.detail ? `  ${s.detail}` : ''}`);
      if (list.some((s) => s.state === 'stopped' || s.state === 'unhealthy')) process.exitCode = 3;
    });
}
