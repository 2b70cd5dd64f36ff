// A Redis of the project's own (own port, AOF on) under the data folder, so tests and
// the demo never touch the machine's shared Redis on 6379.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/config.js';
import { pingRedis } from '../../store/redis-client.js';
import { ensureRedis } from '../install.js';
import { ensureRunning, serviceState, startDetached, stopPid, killPid } from '../process.js';
import type { LocalService, ServiceStatus } from './service.js';

export function redisService(config: Config): LocalService {
  const dir = path.join(config.dataDir, 'redis');
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(dir, 'redis.log');
  const port = config.redis.port;
  const healthy = () => pingRedis(config.redis.url);

  return {
    name: 'redis',
    endpoint: config.redis.url,
    install(log) {
      ensureRedis(log);
    },
    start(log) {
      return ensureRunning({
        name: 'redis', pidFile, port, healthy, logFile, timeoutMs: 30_000, portHint: 'set TESSERA_REDIS_URL to another port',
        launch: () => {
          fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
          log(`starting redis on :${port}`);
          startDetached('redis-server', [
            '--port', String(port), '--bind', '127.0.0.1', '--dir', path.join(dir, 'data'),
            '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no',
            '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes',
          ], { logFile, pidFile });
        },
      });
    },
    stop: () => stopPid(pidFile, 10_000),
    kill: () => killPid(pidFile),
    async status(): Promise<ServiceStatus> {
      return { name: 'redis', endpoint: config.redis.url, ...(await serviceState(pidFile, healthy)) };
    },
  };
}
