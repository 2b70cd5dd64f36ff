// A single-node Apache Kafka broker in KRaft mode (combined broker + controller), from
// the Maven Central jars, run on the machine's Java 17.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { kafkaPort, type Config } from '../../config/config.js';
import { kafkaHealthy } from '../../streams/kafka-client.js';
import { ensureKafkaJars } from '../install.js';
import { ensureRunning, isAlive, portOpen, readPid, serviceState, startDetached, stopPid, killPid } from '../process.js';
import type { LocalService, ServiceStatus } from './service.js';

function serverProperties(dir: string, config: Config): string {
  const port = kafkaPort(config);
  const cport = config.kafka.controllerPort;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${cport}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dir}/data`,
    `num.partitions=${config.topics.eventsPartitions}`,
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=6',
    'group.initial.rebalance.delay.ms=0',
    // Local stack: keep the disk bounded.
    'log.retention.hours=48',
    'log.segment.bytes=268435456',
    'message.max.bytes=1048588',
    '',
  ].join('\n');
}

const LOG4J2 = `status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = WARN
`;

/**
 * KRaft cluster ids are 16 random bytes, base64url without padding. Like Kafka's own
 * Uuid.randomUuid, reject ids that start with '-': an argument parser reads them as an
 * option (a CI run failed on exactly that, 1 time in 64).
 */
export function clusterId(random: (n: number) => Buffer = crypto.randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function kafkaService(config: Config): LocalService {
  const dir = path.join(config.dataDir, 'kafka');
  const pidFile = path.join(dir, 'kafka.pid');
  const logFile = path.join(dir, 'logs', 'stdout.log');
  const port = kafkaPort(config);
  const healthy = () => kafkaHealthy(config);
  const classpath = () => `${path.join(dir, 'libs')}/*`;

  function formatStorage(): void {
    if (fs.existsSync(path.join(dir, 'data', 'meta.properties'))) return;
    const idFile = path.join(dir, 'cluster-id');
    if (!fs.existsSync(idFile) || fs.readFileSync(idFile, 'utf8').trim().startsWith('-')) {
      fs.writeFileSync(idFile, clusterId());
    }
    const res = spawnSync('java', ['-cp', classpath(), 'kafka.tools.StorageTool', 'format', `--cluster-id=${fs.readFileSync(idFile, 'utf8').trim()}`,
      '-c', path.join(dir, 'server.properties'), '--ignore-formatted'], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`kafka storage format failed: ${res.stderr || res.stdout}`);
  }

  return {
    name: 'kafka',
    endpoint: config.kafka.brokers.join(','),
    install(log) {
      ensureKafkaJars(dir, config.kafka.version, log);
    },
    async start(log) {
      if (!isAlive(readPid(pidFile)) && (await portOpen(config.kafka.controllerPort)) && !(await portOpen(port))) {
        throw new Error(`controller port ${config.kafka.controllerPort} is in use; set TESSERA_KAFKA_CONTROLLER_PORT`);
      }
      return ensureRunning({
        name: 'kafka', pidFile, port, healthy, logFile: path.join(dir, 'logs', 'server.log'), timeoutMs: 90_000,
        portHint: 'set TESSERA_KAFKA_BROKERS to another port',
        launch: () => {
          fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
          fs.writeFileSync(path.join(dir, 'server.properties'), serverProperties(dir, config));
          fs.writeFileSync(path.join(dir, 'log4j2.properties'), LOG4J2);
          formatStorage();
          log(`starting kafka ${config.kafka.version} (KRaft) on :${port}`);
          startDetached('java', [
            '-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
            `-Dkafka.logs.dir=${path.join(dir, 'logs')}`, `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`,
            '-cp', classpath(), 'kafka.Kafka', path.join(dir, 'server.properties'),
          ], { logFile, pidFile });
        },
      });
    },
    stop: () => stopPid(pidFile, 30_000),
    kill: () => killPid(pidFile),
    async status(): Promise<ServiceStatus> {
      return { name: 'kafka', endpoint: config.kafka.brokers.join(','), detail: `Apache Kafka ${config.kafka.version}`, ...(await serviceState(pidFile, healthy)) };
    },
  };
}
