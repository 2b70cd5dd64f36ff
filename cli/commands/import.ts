// `tessera import <file> --format rees46|otto|jsonl [--retime]`: streams a dataset file
// into the events topic. Every event is validated with core decodeEvent first; rejected
// rows are listed with line number and reason. Event ids are derived from the content,
// so importing the same file twice produces the same ids (the pipeline dedups them).
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { IMPORT_FORMATS, importFile, readableFileSize, type ImportFormat, type ImportProgress } from '../../fixtures/importers/import.js';
import { createProgress, type Progress } from '../../fixtures/progress.js';
import { assertKafkaReachable, ensureTopics, requiredTopics } from '../../streams/kafka-client.js';
import { openEventProducer } from '../../streams/producer.js';

interface ImportCliOptions {
  format: ImportFormat;
  retime?: boolean;
  topic?: string;
  showRejected: string;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import a clickstream file into Kafka (validated; rejected rows are listed)')
    .argument('<file>', 'the file to import (read as a stream)')
    .addOption(new Option('--format <format>', 'input format').choices([...IMPORT_FORMATS]).makeOptionMandatory())
    .option('--retime', 'shift all event times by one constant so that the last event is now')
    .option('--topic <name>', 'target topic (default: the events topic from config)')
    .option('--show-rejected <n>', 'list at most this many rejected rows', '50')
    .action(async (file: string, opts: ImportCliOptions) => {
      await runImport(file, opts);
    });
}

async function runImport(file: string, opts: ImportCliOptions): Promise<void> {
  const config = loadConfig();
  await readableFileSize(file); // a missing file fails before Kafka is touched
  const topic = opts.topic ?? config.topics.events;
  const topics = requiredTopics(config);
  if (!topics.some((t) => t.topic === topic)) topics.push({ topic, numPartitions: config.topics.eventsPartitions });
  await assertKafkaReachable(config);
  await ensureTopics(config, topics);
  const producer = await openEventProducer(config, { topic, role: 'import' });

  const started = Date.now();
  let progress: Progress | undefined;
  let pass: ImportProgress['pass'] | undefined;
  const onProgress = (p: ImportProgress) => {
    if (p.pass !== pass) {
      progress?.stop();
      pass = p.pass;
      progress = createProgress(p.pass === 'scan' ? 'scan (retime)' : 'import', p.totalBytes, 'bytes');
    }
    progress?.update(p.bytesRead, p.pass === 'scan' ? 'finding the last event time' : `${p.produced} events, ${p.rejected} rejected`);
  };
  let result;
  try {
    result = await importFile({ file, format: opts.format, retime: opts.retime, sink: producer, onProgress, limits: config.events });
    await producer.flush();
  } finally {
    progress?.stop();
    await producer.close();
  }

  const seconds = (Date.now() - started) / 1000;
  const iso = (t: number | null) => (t === null ? '-' : new Date(t).toISOString());
  const lines = [
    `imported ${opts.format} ${file}: read ${result.read} records, produced ${result.produced} events to ${topic}, ` +
      `rejected ${result.rejectedTotal} (${seconds.toFixed(1)} s)`,
    `  event time ${iso(result.minEventTimeMs)} .. ${iso(result.maxEventTimeMs)}` +
      (opts.retime ? ` (retimed by ${result.shiftMs >= 0 ? '+' : ''}${(result.shiftMs / 86_400_000).toFixed(2)} days)` : ''),
  ];
  const show = Math.max(0, Number(opts.showRejected) || 0);
  if (result.rejectedTotal > 0) {
    lines.push('rejected:');
    for (const r of result.rejected.slice(0, show)) lines.push(`  line ${r.line}  ${r.reason}  ${r.detail}`);
    if (result.rejectedTotal > Math.min(show, result.rejected.length)) lines.push(`  ... ${result.rejectedTotal - Math.min(show, result.rejected.length)} more`);
  }
  console.log(lines.join('\n'));
}
