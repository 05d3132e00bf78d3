/**
 * The short chaos run (issue 20): `npm run chaos` with seed 7 for two minutes — three `streamserve run` instances
 * per delivery mode on a broker and a registry of its own, a keyed producer at a fixed rate, and every kind of
 * fault the schedule knows (instance SIGKILL, broker SIGSTOP and SIGKILL, registry hang, model process kill and
 * hang, an ACL denial that ends the instances by design). Nothing may be lost or answered wrongly in either mode,
 * nothing repeated or reordered per key under exactly-once, no instance may die of anything but the schedule's kill
 * or the denial, and both groups must catch up once the producer stops. The long run is `npm run chaos -- --duration 1800`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failures, passed, report } from '../../chaos/report.js';
import { runChaos } from '../../chaos/run.js';
import { FAULT_KINDS } from '../../chaos/schedule.js';

const SEED = 7;
const DURATION_MS = 120_000;

test(`chaos: seed ${SEED}, ${DURATION_MS / 1000} s, both delivery modes at once`, async () => {
  const result = await runChaos({ seed: SEED, durationMs: DURATION_MS, rate: 50, instances: 3, log: (line) => console.log(line) });
  const text = report(result);
  console.log(text);
  for (const g of result.groups) {
    const t = g.check.total;
    console.log(
      `FAULT scenario=chaos mode=${g.guarantee} sent=${t.inputs} lost=${t.lost} duplicated=${t.duplicated} outOfOrder=${t.outOfOrder} wrongOutcome=${t.wrong} unknown=${g.check.unknown} faults=${result.faults.length} starts=${g.starts} exitsKilled=${g.exits.killed} exitsAcl=${g.exits.acl} exitsUnexpected=${g.exits.unexpected} longestGapMs=${t.longestGapMs} maxLatencyMs=${t.maxLatencyMs} catchUpMs=${g.catchUpMs} passed=${failures(g).length === 0} durationMs=${result.durationMs}`,
    );
  }
  assert.ok(passed(result), `the chaos run failed: ${result.groups.map((g) => `${g.guarantee}: ${failures(g).join('; ') || 'pass'}`).join(' | ')}\n${text}`);
  assert.deepEqual(new Set(result.faults.filter((f) => f.skipped === undefined).map((f) => f.planned.kind)), new Set(FAULT_KINDS), 'every kind of fault was injected');
  for (const g of result.groups) {
    assert.ok(g.check.total.inputs >= (DURATION_MS / 1000) * 50 * 0.9, `${g.guarantee}: the producer kept its rate (${g.check.total.inputs} inputs)`);
    assert.ok(g.exits.acl >= 1, `${g.guarantee}: the ACL denial ended instances (by design) and they were started again`);
  }
});
