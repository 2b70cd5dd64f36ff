// `tessera chaos`: runs the fault scenarios one after another against a private deployment
// (reliability/namespace.ts) on the local stack, while a generated stream with late,
// duplicate and malformed events flows and the API serves reads. After each scenario it
// measures recovery and checks the whole history so far: nothing lost or counted twice
// online or offline, every rejected record in the DLQ, the API answered or failed clearly
// (never hung), every process still running on its own.
import { Queue } from 'bullmq';
import { services } from '../stack/stack.js';
import { createJobQueue, enqueue, jobsConnection, type JobData, type JobKind } from '../offline/jobs/queue.js';
import type { SkewReport } from '../offline/jobs/skew.js';
import { createKafka } from '../streams/kafka-client.js';
import { startApiProber, summarize, type ProbeSummary } from './api-prober.js';
import { createNamespace, removeNamespace, type Namespace } from './namespace.js';
import { ProcessGroup } from './processes.js';
import { apiStableAfter, groupLag, waitApiOk, waitCaughtUp, type CatchUpTarget } from './recovery.js';
import type { Scenario, ServiceName } from './scenarios.js';
import { startSteadyStream } from './stream.js';
import { verdictOk, verifyNamespace, type Verdict } from './verify.js';

export interface ChaosOptions {
  scenarios: readonly Scenario[];
  /** records per second of the generated stream */
  rate: number;
  users: number;
  items: number;
  outageMs: number;
  /** streaming before the fault, and after the fault has ended */
  warmupMs: number;
  afterMs: number;
  /** how long recovery may take before the scenario fails */
  recoveryTimeoutMs: number;
  seed: string;
  keep: boolean;
  log: (m: string) => void;
}

export interface ScenarioResult {
  name: string;
  description: string;
  steps: string[];
  faultSeconds: number;
  /** records produced while the fault lasted, plus those not yet processed online when it began */
  inFlight: number;
  /** ms from the end of the fault until: online caught up, offline caught up, API answering for good */
  recoveryMs: { online?: number; offline?: number; api?: number };
  api: { duringFault: ProbeSummary; after: ProbeSummary };
  verdict: Verdict;
  problems: string[];
  ok: boolean;
}

export interface ChaosReport {
  namespace: string;
  rate: number;
  outageSeconds: number;
  results: ScenarioResult[];
  skew?: { mismatches: number; compared: number };
  problems: string[];
  ok: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const ns = await createNamespace('chaos');
  o.log(`namespace ${ns.id}: topics ${ns.config.topics.events} / ${ns.config.topics.dlq}, Redis prefix ${ns.config.redis.prefix}, database ${ns.config.clickhouse.database}, logs ${ns.logDir}`);
  const stack = Object.fromEntries(services(ns.config).map((s) => [s.name, s])) as Record<ServiceName, ReturnType<typeof services>[number]>;
  for (const s of Object.values(stack)) {
    const st = await s.status();
    if (st.state !== 'running') throw new Error(`chaos needs ${s.name} started by \`tessera up\` (it stops and starts it); found it ${st.state}`);
  }
  const procs = new ProcessGroup(ns.env, ns.logDir);
  const kafka = createKafka(ns.config, 'chaos');
  const targets: CatchUpTarget[] = [
    { name: 'online', group: ns.groups.online, topics: [ns.config.topics.events] },
    { name: 'offline', group: ns.groups.offline, topics: [ns.config.topics.events, ns.config.topics.dlq] },
  ];
  const report: ChaosReport = { namespace: ns.id, rate: o.rate, outageSeconds: o.outageMs / 1000, results: [], problems: [], ok: false };
  const prober = startApiProber({ url: ns.apiUrl, apiKey: ns.apiKey, users: o.users, items: o.items, seed: o.seed });
  try {
    procs.startAll();
    o.log('started online, offline, api and jobs; waiting for the API');
    if ((await waitApiOk(() => prober.results(), Date.now(), 120_000)) === undefined) throw new Error(`the API did not come up:\n${procs.get('api').tail()}`);
    for (const scenario of o.scenarios) {
      const result = await runScenario(scenario, o, ns, procs, stack, kafka, targets, prober);
      report.results.push(result);
      o.log(`${scenario.name}: ${result.ok ? 'PASS' : `FAIL (${result.problems.join('; ')})`}`);
    }
    report.skew = await skewCheck(ns, o);
    if (report.skew.mismatches > 0) report.problems.push(`the final skew check found ${report.skew.mismatches} mismatches`);
  } finally {
    await prober.stop();
    const codes = await procs.stopAll();
    for (const [role, code] of Object.entries(codes)) if (code !== 0 && code !== null) report.problems.push(`${role} exited with ${code} on SIGTERM`);
    if (!o.keep) await removeNamespace(ns).catch((err: Error) => o.log(`could not remove namespace ${ns.id}: ${err.message}`));
  }
  report.ok = report.problems.length === 0 && report.results.every((r) => r.ok);
  return report;
}

async function runScenario(scenario: Scenario, o: ChaosOptions, ns: Namespace, procs: ProcessGroup, stack: Record<ServiceName, ReturnType<typeof services>[number]>,
  kafka: ReturnType<typeof createKafka>, targets: CatchUpTarget[], prober: ReturnType<typeof startApiProber>): Promise<ScenarioResult> {
  const problems: string[] = [];
  o.log(`${scenario.name}: ${scenario.description}`);
  const stream = await startSteadyStream(ns.config, { seed: `${o.seed}-${scenario.name}`, rate: o.rate, users: o.users, items: o.items });
  let stopped = false;
  try {
    await sleep(o.warmupMs);
    const lagAtStart = (await groupLag(kafka, ns.groups.online, ns.config.topics.events)) ?? 0;
    const sentBefore = stream.stats().sent + stream.stats().pending;
    const fault = await scenario.run({ procs, services: stack, outageMs: o.outageMs, log: (m) => o.log(`  ${m}`), sleep });
    const inFlight = stream.stats().sent + stream.stats().pending - sentBefore + lagAtStart;
    const [caught, apiMs] = await Promise.all([
      waitCaughtUp(kafka, targets, o.recoveryTimeoutMs),
      waitApiOk(() => prober.results(), fault.back, o.recoveryTimeoutMs),
    ]);
    const recoveryMs = { online: caught.online, offline: caught.offline, api: apiMs };
    o.log(`  recovered: online ${fmt(recoveryMs.online)}, offline ${fmt(recoveryMs.offline)}, API first answered ${fmt(recoveryMs.api)} after the fault ended`);
    for (const [what, ms] of Object.entries(recoveryMs)) if (ms === undefined) problems.push(`${what} did not recover within ${o.recoveryTimeoutMs / 1000} s`);
    await sleep(o.afterMs);
    const sent = await stream.stop();
    stopped = true;
    const final = await waitCaughtUp(kafka, targets, o.recoveryTimeoutMs);
    for (const [what, ms] of Object.entries(final)) if (ms === undefined) problems.push(`${what} did not catch up with the end of the stream`);
    for (const p of procs.byRole.values()) if (!p.running) problems.push(`${p.role} is not running (it exited by itself):\n${p.tail(10)}`);

    // The API's recovery: from the end of the fault until it answered for good, judged on
    // the requests up to now (the checks below load the machine; slow answers then are theirs).
    const results = prober.results().filter((r) => r.at + r.ms < Date.now());
    recoveryMs.api = apiStableAfter(results, fault.back);
    if (apiMs !== undefined && recoveryMs.api === undefined) problems.push('the API kept failing after its first good answer');
    const duringFault = summarize(results, fault.from, fault.back + (recoveryMs.api ?? 0));
    const after = summarize(results, fault.back + (recoveryMs.api ?? 0));
    if (duringFault.hung + after.hung > 0) problems.push(`${duringFault.hung + after.hung} API requests hung (no answer within the client timeout)`);
    if (duringFault.unclear + after.unclear > 0) problems.push(`${duringFault.unclear + after.unclear} API answers were errors without a clear code`);
    if (scenario.name !== 'kill-processes' && duringFault.refused > 0) problems.push(`${duringFault.refused} API connections refused although the API process was running`);
    if (after.ok === 0) problems.push('no successful API answer after the fault');

    const verdict = await verifyNamespace(ns, `${o.seed}-${scenario.name}`);
    o.log(`  checked ${verdict.records} records (${sent.sent} sent in this scenario): online missing ${verdict.online.missing}, doubled ${verdict.online.doubled}, probes ${verdict.online.probes} with ${verdict.online.mismatches} mismatches; offline missing ${verdict.offline.missing}, extra ${verdict.offline.extra}, duplicate rows ${verdict.offline.duplicateRows}; DLQ ${verdict.dlq.found}/${verdict.dlq.expected}`);
    for (const e of verdict.online.examples) o.log(`    mismatch: ${e}`);
    if (!verdictOk(verdict)) problems.push('the data check failed (see the verdict)');
    return {
      name: scenario.name, description: scenario.description, steps: fault.steps, faultSeconds: (fault.back - fault.from) / 1000,
      inFlight, recoveryMs, api: { duringFault, after }, verdict, problems, ok: problems.length === 0,
    };
  } finally {
    if (!stopped) await stream.stop().catch(() => undefined);
  }
}

const fmt = (ms: number | undefined): string => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

/** A consistency check run as a job by the (killed and restarted) jobs worker: online vs offline. */
async function skewCheck(ns: Namespace, o: ChaosOptions): Promise<{ mismatches: number; compared: number }> {
  const connection = jobsConnection(ns.config);
  const queue: Queue<JobData, unknown, JobKind> = createJobQueue(connection, ns.config.redis.prefix);
  try {
    const job = await enqueue(queue, 'skew', { sample: 100, seed: o.seed });
    const deadline = Date.now() + o.recoveryTimeoutMs;
    for (;;) {
      const state = await queue.getJobState(job.id as string);
      if (state === 'completed' || state === 'failed') {
        const done = await queue.getJob(job.id as string);
        if (state === 'failed') throw new Error(`the skew job failed: ${done?.failedReason ?? '?'}`);
        const r = done?.returnvalue as SkewReport | undefined;
        if (r === undefined) throw new Error('the skew job finished without a report');
        o.log(`skew job ${job.id}: ${r.compared} values compared, ${r.mismatches} mismatches${r.examples.length > 0 ? `, e.g. ${JSON.stringify(r.examples[0])}` : ''}`);
        return { mismatches: r.mismatches, compared: r.compared };
      }
      if (Date.now() > deadline) throw new Error(`the skew job did not finish (state ${state})`);
      await sleep(500);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
