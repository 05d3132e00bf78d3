/**
 * One chaos run: a broker enforcing ACLs and a Schema Registry of its own, and for each delivery mode a group of
 * `streamserve run` instances (ONNX model in its own process, Confluent-framed inputs) fed by one fixed-rate
 * producer, while the seeded schedule injects faults one after another. A supervisor starts an instance again
 * whenever one has exited (a kill of the schedule's, an ACL denial, or anything else: each exit is counted by its
 * cause). After the last fault the producer stops, the groups must catch up, the instances stop gracefully, and the
 * checker reads everything back.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { messageOf } from '../src/errors.js';
import { RegistryClient } from '../src/registry/client.js';
import type { LocalRegistry } from '../src/registry/localRegistry.js';
import { testTopics, type TestTopics } from '../test/integration/support/app.js';
import { createKafka, createTopics, uniqueName, withTimeout } from '../test/support/kafka.js';
import { modelHostChildren } from '../test/support/modelProcesses.js';
import { startOwnRegistry } from '../test/support/registry.js';
import { AclOperationTypes, AclResourceTypes, ResourcePatternTypes, changeAcls, denial } from '../test/fault/support/acl.js';
import { startOwnBroker, type OwnBroker } from '../test/fault/support/cluster.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance } from '../test/fault/support/instances.js';
import { GUARANTEES, type Guarantee } from '../test/fault/support/tally.js';
import { checkGroup, type Check } from './check.js';
import { ChaosProducer, type ProducerStats } from './producer.js';
import { planFaults, type PlannedFault } from './schedule.js';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  /** Inputs per second into each group's topic. */
  rate: number;
  instances: number;
  log: (line: string) => void;
}

export interface FaultRecord {
  planned: PlannedFault;
  startedAt: number;
  healedAt: number;
  /** Why the fault could not be injected (no model process to kill while its instance was restarting). */
  skipped?: string;
  /** Per mode: from the heal until the group's lag was back under the threshold (ms), or undefined if it never was before the next fault. */
  recoveryMs: Partial<Record<Guarantee, number>>;
}

export interface GroupResult {
  guarantee: Guarantee;
  check: Check;
  /** Instance exits by cause: `killed` (the schedule's SIGKILL), `acl` (AUTHORIZATION_FAILED during a denial), `unexpected`. */
  exits: Record<'killed' | 'acl' | 'unexpected', number>;
  /** The stderr tails of unexpected exits. */
  unexpected: string[];
  starts: number;
  /** From the producer's stop until the group's lag was 0 (ms); NaN when it never was (the run fails). */
  catchUpMs: number;
}

export interface ChaosResult {
  options: Omit<ChaosOptions, 'log'>;
  schedule: PlannedFault[];
  faults: FaultRecord[];
  groups: GroupResult[];
  producer: ProducerStats;
  /** Lag at or under this counts as recovered. */
  recoveredLag: number;
  /** Where the instances' logs were written. */
  logs: string;
  /** When the schedule's clock started (ms since epoch): fault times are from here. */
  startedAt: number;
  durationMs: number;
}

const PARTITIONS = 6;
const KEYS = 64;
const SAMPLE_MS = 1_000;
const CATCH_UP_MS = 240_000;
/** A refusal logged this long after a denial was lifted is still the denial's (the broker applies ACL changes late). */
const DENIAL_GRACE_MS = 2_000;

/** One delivery mode's group: its topics and its instances, each slot started again when it exits. */
class Group {
  readonly guarantee: Guarantee;
  readonly topics: TestTopics;
  readonly slots: (Instance | undefined)[];
  /** Slots the schedule holds down (killed, not to be started again yet). */
  readonly held = new Set<number>();
  readonly exits = { killed: 0, acl: 0, unexpected: 0 };
  readonly unexpected: string[] = [];
  readonly #killed = new WeakSet<Instance>();
  readonly #env: () => Promise<Record<string, string>>;
  readonly #fleet: Fleet;
  starts = 0;
  #supervising = false;
  /** When ACL denials were in force (ms since epoch; no end yet while one is): AUTHORIZATION_FAILED then is the design. */
  readonly denials: [number, number | undefined][] = [];

  constructor(guarantee: Guarantee, topics: TestTopics, instances: number, fleet: Fleet, env: () => Promise<Record<string, string>>) {
    this.guarantee = guarantee;
    this.topics = topics;
    this.slots = Array.from({ length: instances }, () => undefined);
    this.#fleet = fleet;
    this.#env = env;
  }

  async startAll(): Promise<void> {
    for (let slot = 0; slot < this.slots.length; slot++) await this.#start(slot);
  }

  /** Starts every slot whose instance has exited (and is not held), counting the exit by its cause. */
  async supervise(): Promise<void> {
    if (this.#supervising) return;
    this.#supervising = true;
    try {
      await this.#restartExited();
    } finally {
      this.#supervising = false;
    }
  }

  async #restartExited(): Promise<void> {
    for (let slot = 0; slot < this.slots.length; slot++) {
      const instance = this.slots[slot];
      if (instance !== undefined && instance.exit === undefined) continue;
      if (instance !== undefined) this.#countExit(instance);
      this.slots[slot] = undefined;
      if (!this.held.has(slot)) await this.#start(slot);
    }
  }

  /** SIGKILLs the slot's instance; false when none was running (it was being started again). */
  async kill(slot: number): Promise<boolean> {
    const instance = this.slots[slot];
    if (instance === undefined || instance.exit !== undefined) return false;
    this.#killed.add(instance);
    await instance.kill('SIGKILL');
    return true;
  }

  /** Counts the exits the supervisor has not seen yet, then SIGTERMs every instance: a graceful stop must exit 0. */
  async stopAll(): Promise<(number | string)[]> {
    for (const i of this.slots) if (i !== undefined && i.exit !== undefined) this.#countExit(i);
    const running = this.slots.filter((i): i is Instance => i !== undefined && i.exit === undefined);
    for (const i of running) this.#killed.add(i);
    const codes = await Promise.all(running.map((i) => i.kill('SIGTERM', 60_000)));
    codes.forEach((code, n) => {
      if (code === 0) return;
      this.exits.unexpected++;
      this.unexpected.push(`${running[n]!.name} exit ${String(code)} on SIGTERM (a graceful stop exits 0):\n${running[n]!.stderrTail(2000)}`);
    });
    return codes;
  }

  #countExit(instance: Instance): void {
    if (this.#killed.has(instance)) this.exits.killed++;
    // the denial's, by design: exit 1 on a fatal AUTHORIZATION_FAILED logged while a denial was in force (the
    // graceful stop that follows may end after the denial is lifted)
    else if (instance.exit === 1 && this.#refusedDuringDenial(instance)) this.exits.acl++;
    else {
      this.exits.unexpected++;
      this.unexpected.push(`${instance.name} exit ${String(instance.exit)}:\n${instance.stderrTail(2000)}`);
    }
  }

  #refusedDuringDenial(instance: Instance): boolean {
    return [...instance.logLines('streamserve failed'), ...instance.logLines('startup failed')].some((line) => {
      const at = Number(line.time);
      return JSON.stringify(line).includes('AUTHORIZATION_FAILED') && this.denials.some(([from, to]) => at >= from && at <= (to ?? Number.POSITIVE_INFINITY) + DENIAL_GRACE_MS);
    });
  }

    async #start(slot: number): Promise<void> {
    this.slots[slot] = this.#fleet.run(await this.#env(), guaranteeArgs(this.guarantee));
    this.starts++;
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { log } = options;
  const began = Date.now();
  const schedule = planFaults(options.seed, options.durationMs, options.instances);
  const own: OwnBroker = await startOwnBroker((line) => log(`broker: ${line}`), { authorizer: true });
  let registry: LocalRegistry | undefined;
  const fleet = new Fleet();
  const logs = join(tmpdir(), uniqueName('streamserve-chaos'));
  // Interrupted (Ctrl-C): the instances must not outlive the run (the broker and registry stop by their watchdogs).
  const interrupted = (signal: NodeJS.Signals) => {
    for (const i of fleet.instances) if (i.exit === undefined) i.proc.child.kill('SIGKILL');
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    registry = await startOwnRegistry((line) => log(line));
    const brokers = own.broker.brokers;
    const groups = GUARANTEES.map((guarantee) => {
      const topics = testTopics(`chaos-${guarantee}`);
      const env = () =>
        instanceEnv(brokers, topics, {
          MODEL_DIR: 'weights/borehole-onnx/1.0.0',
          INFERENCE_TIMEOUT_MS: '2000',
          WIRE_FORMAT: 'confluent',
          SCHEMA_REGISTRY_URL: registry!.url,
          SCHEMA_REGISTRY_TIMEOUT_MS: '2000',
          MAX_BATCH_SIZE: '64',
        });
      return new Group(guarantee, topics, options.instances, fleet, env);
    });
    for (const g of groups) {
      await createTopics(brokers, [
        { topic: g.topics.input, partitions: PARTITIONS },
        { topic: g.topics.output, partitions: 3 },
        { topic: g.topics.dlq, partitions: 1 },
      ]);
    }
    const client = new RegistryClient({ urls: [registry.url], timeoutMs: 3_000 });
    const producer = new ChaosProducer({
      brokers,
      topics: groups.map((g) => g.topics.input),
      rate: options.rate,
      keys: KEYS,
      seed: options.seed,
      registry: client,
      evolveEveryMs: 30_000,
      log,
    });
    for (const g of groups) await g.startAll();
    const sampler = new LagSampler(brokers, groups);
    const supervising = setInterval(() => void Promise.all(groups.map((g) => g.supervise())).catch((err: unknown) => log(`supervisor: ${messageOf(err)}`)), 250);
    const recoveredLag = Math.max(200, options.rate * 2);
    const faults: FaultRecord[] = [];
    let producerStats: ProducerStats;
    let catchUp: Partial<Record<Guarantee, number>> = {};
    let start = Date.now();
    try {
      await producer.start();
      start = Date.now();
      log(`chaos: ${schedule.length} faults over ${Math.round(options.durationMs / 1000)} s (seed ${options.seed})`);
      for (const planned of schedule) {
        await sleep(start + planned.atMs - Date.now());
        const record = await inject(planned, { own, registry, groups, log });
        faults.push(record);
        log(`chaos: #${planned.n} ${planned.kind}${planned.target ? ` ${planned.target.guarantee}[${planned.target.slot}]` : ''}${record.skipped ? ` skipped: ${record.skipped}` : ''}`);
      }
      await sleep(start + options.durationMs - Date.now());
      await producer.stop();
      producerStats = producer.stats;
      const stopped = Date.now();
      catchUp = await sampler.caughtUp(CATCH_UP_MS, () => stopped).catch(async (err: unknown) => {
        // still count what was written: the report shows what is missing; each instance's /status and logs, why
        log(`chaos: ${messageOf(err)}`);
        for (const g of groups) for (const i of g.slots) if (i !== undefined && i.exit === undefined) log(`chaos: ${g.guarantee} ${i.name} /status ${await i.status().then(JSON.stringify, messageOf)}`);
        return {};
      });
      clearInterval(supervising);
      for (const g of groups) {
        const codes = await g.stopAll();
        log(`chaos: ${g.guarantee} instances stopped: ${codes.join(', ')}`);
      }
    } finally {
      clearInterval(supervising);
      await sampler.close();
      await client.close();
    }
    // recovery of each fault: the first sample after its heal with the lag under the threshold, before the next fault
    for (const [i, f] of faults.entries()) {
      const until = faults[i + 1]?.startedAt ?? Number.POSITIVE_INFINITY;
      for (const g of groups) {
        const back = sampler.samples.find((s) => s.at >= f.healedAt && s.at < until && s.lag[g.guarantee] !== undefined && s.lag[g.guarantee]! <= recoveredLag);
        if (back !== undefined) f.recoveryMs[g.guarantee] = back.at - f.healedAt;
      }
    }
    const windowStarts = faults.map((f) => f.startedAt);
    const results: GroupResult[] = [];
    for (const g of groups) {
      results.push({
        guarantee: g.guarantee,
        check: await checkGroup(brokers, g.topics, windowStarts),
        exits: g.exits,
        unexpected: g.unexpected,
        starts: g.starts,
        catchUpMs: catchUp[g.guarantee] ?? Number.NaN,
      });
    }
    fleet.dumpLogs(logs);
    return { options: { seed: options.seed, durationMs: options.durationMs, rate: options.rate, instances: options.instances }, schedule, faults, groups: results, producer: producerStats, recoveredLag, logs, startedAt: start, durationMs: Date.now() - began };
  } catch (err) {
    fleet.dumpLogs(logs);
    throw new Error(`${messageOf(err)} (instance logs in ${logs})`, { cause: err });
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await fleet.killAll();
    await registry?.stop();
    await own.cleanup();
  }
}

interface World {
  own: OwnBroker;
  registry: LocalRegistry;
  groups: Group[];
  log: (line: string) => void;
}

async function inject(planned: PlannedFault, { own, registry, groups, log }: World): Promise<FaultRecord> {
  const startedAt = Date.now();
  const record = (skipped?: string): FaultRecord => ({ planned, startedAt, healedAt: Date.now(), recoveryMs: {}, ...(skipped === undefined ? {} : { skipped }) });
  const group = planned.target === undefined ? undefined : groups.find((g) => g.guarantee === planned.target!.guarantee)!;
  const slot = planned.target?.slot ?? 0;
  switch (planned.kind) {
    case 'instance-kill':
      group!.held.add(slot);
      try {
        if (!(await group!.kill(slot))) return record('no running instance (it was starting)');
        await sleep(planned.holdMs);
      } finally {
        group!.held.delete(slot);
      }
      return record();
    case 'broker-pause':
      own.broker.pause();
      try {
        await sleep(planned.holdMs);
      } finally {
        own.broker.resume();
      }
      return record();
    case 'broker-kill':
      await own.broker.kill();
      await sleep(planned.holdMs);
      await own.broker.restart({ keepData: true });
      return record();
    case 'registry-hang':
      registry.pause();
      try {
        await sleep(planned.holdMs);
      } finally {
        registry.resume();
      }
      return record();
    case 'model-kill':
    case 'model-hang': {
      const instance = group!.slots[slot];
      const model = instance === undefined || instance.exit !== undefined ? undefined : modelHostChildren(instance.pid)[0];
      if (model === undefined) return record('no model process (its instance was starting)');
      if (!signal(model, planned.kind === 'model-kill' ? 'SIGKILL' : 'SIGSTOP')) return record('the model process exited just before');
      if (planned.kind === 'model-kill') return record();
      await sleep(planned.holdMs);
      try {
        process.kill(model, 'SIGCONT');
      } catch {
        // replaced (killed) by its instance meanwhile: the expected end of a hang
      }
      return record();
    }
    case 'acl-deny': {
      const acls = groups.flatMap((g) =>
        denial({ resourceType: AclResourceTypes.TOPIC, resourceName: g.topics.output, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.WRITE }),
      );
      const window: [number, number | undefined] = [Date.now(), undefined];
      for (const g of groups) g.denials.push(window);
      await changeAcls(own.broker.brokers, 'create', acls);
      try {
        await sleep(planned.holdMs);
      } finally {
        await retrying(() => changeAcls(own.broker.brokers, 'delete', acls), log);
        window[1] = Date.now();
      }
      return record();
    }
  }
}

/** Each group's lag once a second, through one admin client (replaced when it keeps failing, as after a broker kill). */
class LagSampler {
  readonly samples: { at: number; lag: Partial<Record<Guarantee, number>> }[] = [];
  readonly #brokers: string[];
  readonly #groups: Group[];
  #admin: Admin | undefined;
  #failures = 0;
  readonly #timer: NodeJS.Timeout;
  #busy = false;

  constructor(brokers: string[], groups: Group[]) {
    this.#brokers = brokers;
    this.#groups = groups;
    this.#timer = setInterval(() => void this.#sample(), SAMPLE_MS);
  }

  /** Waits until every group's lag is 0; per mode, how long that took from `since()`. */
  async caughtUp(timeoutMs: number, since: () => number): Promise<Partial<Record<Guarantee, number>>> {
    const deadline = Date.now() + timeoutMs;
    const done: Partial<Record<Guarantee, number>> = {};
    while (Object.keys(done).length < this.#groups.length) {
      if (Date.now() > deadline) throw new Error(`the groups did not catch up within ${timeoutMs} ms: ${JSON.stringify(this.samples.at(-1)?.lag)}`);
      const last = this.samples.at(-1);
      if (last === undefined || last.at < since()) {
        await sleep(SAMPLE_MS);
        continue;
      }
      for (const g of this.#groups) if (done[g.guarantee] === undefined && last?.lag[g.guarantee] === 0) done[g.guarantee] = last.at - since();
      await sleep(SAMPLE_MS);
    }
    return done;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#admin?.disconnect().catch(() => {});
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    const at = Date.now();
    const lag: Partial<Record<Guarantee, number>> = {};
    try {
      this.#admin ??= createKafka(this.#brokers, 'chaos-lag').admin();
      const admin = this.#admin;
      await withTimeout(admin.connect(), 3_000, 'lag admin connect');
      for (const g of this.#groups) {
        const [ends, committed] = await withTimeout(
          Promise.all([admin.fetchTopicOffsets(g.topics.input), admin.fetchOffsets({ groupId: g.topics.group, topics: [g.topics.input] })]),
          3_000,
          'lag fetch',
        );
        const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        lag[g.guarantee] = ends.reduce((sum, e) => sum + Math.max(0, Number(e.high) - Math.max(byPartition.get(e.partition) ?? -1, Number(e.low))), 0);
      }
      this.#failures = 0;
    } catch {
      if (++this.#failures >= 3) {
        const old = this.#admin;
        this.#admin = undefined;
        this.#failures = 0;
        void old?.disconnect().catch(() => {});
      }
    } finally {
      this.samples.push({ at, lag });
      this.#busy = false;
    }
  }
}

async function retrying(fn: () => Promise<void>, log: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 10) throw err;
      log(`chaos: ${messageOf(err)}; trying again`);
      await sleep(1_000);
    }
  }
}

/** Sends a signal; false when the process is gone already. */
function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
