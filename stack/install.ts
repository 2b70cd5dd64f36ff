// Installs what a fresh machine lacks: Kafka jars via Maven, ClickHouse and Redis via apt.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class InstallError extends Error {
  override name = 'InstallError';
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], what: string, env?: NodeJS.ProcessEnv): void {
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) {
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.split('\n').slice(-20).join('\n');
    throw new InstallError(`${what} failed (exit ${res.status ?? res.signal}):\n${out}`);
  }
}

let aptUpdated = false;
function aptInstall(packages: string[], log: (m: string) => void): void {
  if (!which('apt-get')) throw new InstallError(`apt-get not found; install ${packages.join(', ')} by hand`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    log('apt-get update');
    run('apt-get', ['update'], 'apt-get update', env);
    aptUpdated = true;
  }
  log(`apt-get install ${packages.join(' ')}`);
  run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], `apt-get install ${packages.join(' ')}`, env);
}

export function ensureClickHouse(log: (m: string) => void): string {
  if (!which('clickhouse-server')) aptInstall(['clickhouse-server', 'clickhouse-client'], log);
  return 'clickhouse-server';
}

export function ensureRedis(log: (m: string) => void): string {
  if (!which('redis-server')) aptInstall(['redis-server'], log);
  return 'redis-server';
}

/** The Maven project whose runtime dependencies are exactly a Kafka broker's classpath. */
function kafkaPom(version: string): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tessera</groupId><artifactId>kafka-runtime</artifactId><version>${version}</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
`;
}

/** Resolves the pinned Kafka broker with mvn into `<dir>/libs`; no-op when already there. */
export function ensureKafkaJars(dir: string, version: string, log: (m: string) => void): string {
  const libs = path.join(dir, 'libs');
  const marker = path.join(libs, `.complete-${version}`);
  if (fs.existsSync(marker)) return libs;
  if (!which('java')) aptInstall(['openjdk-17-jre-headless'], log);
  if (!which('mvn')) aptInstall(['maven'], log);
  fs.rmSync(libs, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'pom.xml'), kafkaPom(version));
  log(`mvn: resolving org.apache.kafka:kafka_2.13:${version}`);
  run('mvn', ['-q', '-B', '-f', path.join(dir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'], `mvn resolve kafka_2.13:${version}`);
  const jars = fs.readdirSync(libs).filter((f) => f.endsWith('.jar'));
  if (!jars.some((j) => j.startsWith(`kafka_2.13-${version}`))) throw new InstallError(`mvn did not produce kafka_2.13-${version}.jar in ${libs}`);
  // Two slf4j APIs on one classpath make logging silently no-op; keep the 2.x one.
  for (const j of jars) if (/^slf4j-api-1\./.test(j)) fs.rmSync(path.join(libs, j));
  fs.writeFileSync(marker, new Date().toISOString());
  return libs;
}

export function javaVersion(): string {
  try {
    return execFileSync('java', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return (e as { stderr?: string }).stderr?.split('\n')[0] ?? 'unknown';
  }
}
