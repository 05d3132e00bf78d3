/** An App in the test process, for scenarios that hand it a faulty model; stopped (with a deadline) at cleanup. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { App, type AppStatus } from '../../../src/app.js';
import type { Config } from '../../../src/config/settings.js';
import { testConfig, testLogger, type TestTopics } from '../../integration/support/app.js';
import { withTimeout } from '../../support/kafka.js';
import { groupProgress } from './cluster.js';
import type { ModelLoader } from './models.js';
import type { Guarantee } from './tally.js';
import { poll } from './wait.js';

/** A test config in `mode`; fails at once if the mode is not a setting (yet). */
export function faultConfig(topics: TestTopics, mode: Guarantee, flags: Record<string, string> = {}): Config {
  const config = testConfig(topics, { guarantee: mode, ...flags });
  assert.equal(config.guarantee, mode, 'the guarantee setting selects the delivery mode');
  return config;
}

/** Starts an App (stopped at cleanup, 60 s at most) and returns it with its stop function. */
export async function startApp(t: TestContext, config: Config, loadModel?: ModelLoader): Promise<{ app: App; stop: () => Promise<number> }> {
  const app = new App({ config, logger: testLogger(config), ...(loadModel === undefined ? {} : { loadModel }) });
  const stop = () => withTimeout(app.stop(), config.shutdownTimeoutMs + 30_000, 'app stop');
  t.after(() => stop().then(() => undefined));
  await app.start();
  return { app, stop };
}

/** Waits until the app holds every partition at lag 0 and the group's committed offsets are the end offsets. */
export async function caughtUp(app: App, brokers: string[], partitions: number, timeoutMs = 180_000): Promise<AppStatus> {
  const config = app.status();
  return poll(
    async () => {
      const status = app.status();
      if (status.state !== 'running') throw new Error(`app is ${status.state}`);
      if (status.assignments.length !== partitions || !status.assignments.every((a) => a.lag === 0)) return null;
      return (await groupProgress(brokers, config.group, config.topics.input)).lag === 0 ? status : null;
    },
    { message: 'the app caught up (lag 0)', timeoutMs, intervalMs: 200, abort: () => (app.state === 'failed' ? 'the app failed' : undefined) },
  );
}
