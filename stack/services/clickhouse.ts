// ClickHouse (Debian's clickhouse-server 18.16) with a config of our own: its own ports,
// data and logs under the data folder, UTC, loopback only.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/config.js';
import { pingClickHouse } from '../../offline/clickhouse-client.js';
import { ensureClickHouse } from '../install.js';
import { ensureRunning, serviceState, startDetached, stopPid, killPid } from '../process.js';
import type { LocalService, ServiceStatus } from './service.js';

function serverConfig(dir: string, config: Config): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/server.err.log</errorlog><size>100M</size><count>2</count></logger>
  <http_port>${config.clickhouse.httpPort}</http_port>
  <tcp_port>${config.clickhouse.tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <timezone>UTC</timezone>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>6000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

export function clickhouseService(config: Config): LocalService {
  const dir = path.join(config.dataDir, 'clickhouse');
  const pidFile = path.join(dir, 'clickhouse.pid');
  const logFile = path.join(dir, 'log', 'stdout.log');
  const healthy = () => pingClickHouse(config.clickhouse.url);

  return {
    name: 'clickhouse',
    endpoint: config.clickhouse.url,
    install(log) {
      ensureClickHouse(log);
    },
    start(log) {
      return ensureRunning({
        name: 'clickhouse', pidFile, port: config.clickhouse.httpPort, healthy, logFile: path.join(dir, 'log', 'server.err.log'),
        timeoutMs: 60_000, portHint: 'set TESSERA_CLICKHOUSE_URL to another port',
        launch: () => {
          for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
          fs.writeFileSync(path.join(dir, 'config.xml'), serverConfig(dir, config));
          fs.writeFileSync(path.join(dir, 'users.xml'), USERS_XML);
          log(`starting clickhouse on :${config.clickhouse.httpPort}`);
          startDetached('clickhouse-server', [`--config-file=${path.join(dir, 'config.xml')}`], { logFile, pidFile, cwd: dir });
        },
      });
    },
    stop: () => stopPid(pidFile, 30_000),
    kill: () => killPid(pidFile),
    async status(): Promise<ServiceStatus> {
      return { name: 'clickhouse', endpoint: config.clickhouse.url, ...(await serviceState(pidFile, healthy)) };
    },
  };
}
