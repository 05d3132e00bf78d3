/**
 * Each runtime served end to end through Kafka (issue 15): the models made in Python (scripts/python/make_examples.py)
 * run by `run`'s own choice of runtime and host (ONNX in a child process, NumPy in a worker thread), Python's fixed
 * inputs published as Avro, and every prediction read back from the output topic compared with the prediction Python
 * made (tolerances in test/support/pythonModels.ts). The runtime shows on /status, /metrics and the lineage header.
 * A signature written for another model is refused at startup, naming what disagrees.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { App } from '../../src/app.js';
import { loadAvroSchema } from '../../src/codec/schema.js';
import { loadSignature } from '../../src/model/signature.js';
import { Header } from '../../src/kafka/headers.js';
import { createKafka as createAppKafka } from '../../src/kafka/client.js';
import { InputProducer } from '../../src/kafka/inputProducer.js';
import { withTimeout, headerString, readAll, waitFor } from '../support/kafka.js';
import { boreholeNpz, boreholeOnnx, compareWithPython, irisIntOnnx, irisOnnx, type PythonModel } from '../support/pythonModels.js';
import { createTestTopics, getJson, getText, metricValue, testBrokers, testConfig, testLogger, testTopics } from './support/app.js';
import { startCli } from './support/process.js';

const PARTITIONS = 2;

async function publish(python: PythonModel, config: ReturnType<typeof testConfig>): Promise<void> {
  const type = await loadAvroSchema(python.inputSchema);
  const producer = new InputProducer(createAppKafka({ ...config, brokers: testBrokers() }, testLogger(config)), config.inputTopic);
  await producer.start();
  try {
    await producer.send(python.inputs.map((input) => ({ key: Buffer.from(String(input.id)), value: type.toBuffer({ ...input, event_time: 1_800_000_000_000 }) })));
  } finally {
    await producer.close();
  }
}

describe('models made in Python, served through Kafka', () => {
  const models: [string, () => PythonModel, string][] = [
    ['the borehole regressor as ONNX (scikit-learn)', boreholeOnnx, 'onnx-cpu'],
    ['the borehole regressor as NumPy .npz', boreholeNpz, 'numpy-tfjs-wasm'],
    ['the iris classifier: string labels and probabilities (ONNX)', irisOnnx, 'onnx-cpu'],
    ['the iris classifier: integer labels (ONNX)', irisIntOnnx, 'onnx-cpu'],
  ];
  for (const [name, make, runtime] of models) {
    test(`${name}: every prediction is Python's; runtime ${runtime} on /status, /metrics and the lineage header`, async (t) => {
      const python = make();
      const topics = testTopics('python');
      await createTestTopics(topics, PARTITIONS, t);
      const config = testConfig(topics, { model: python.dir, 'input-schema': python.inputSchema, 'output-schema': python.outputSchema });
      const app = new App({ config, logger: testLogger(config) });
      t.after(() => withTimeout(app.stop(), 60_000, 'app stop'));
      await app.start();
      await publish(python, config);

      const brokers = testBrokers();
      const outputs = await waitFor(
        async () => {
          const all = await readAll(brokers, topics.output, { timeoutMs: 10_000 });
          return all.length >= python.inputs.length ? all : null;
        },
        { message: `${python.inputs.length} predictions`, timeoutMs: 60_000, intervalMs: 500 },
      );
      assert.equal(outputs.length, python.inputs.length, 'one prediction per input');
      assert.equal((await readAll(brokers, topics.dlq, { timeoutMs: 10_000 })).length, 0, 'no dead letters');

      const type = await loadAvroSchema(python.outputSchema);
      const signature = await loadSignature(join(python.dir, 'signature.json'));
      const classes = signature.outputs.find((o) => o.kind === 'probabilities')?.classes;
      const problems: string[] = [];
      for (const m of outputs) {
        const prediction = type.fromBuffer(m.value!) as Record<string, unknown>;
        const id = String(prediction.id);
        assert.equal(m.key?.toString(), id, 'keyed by the input key');
        assert.equal(headerString(m.headers, Header.runtime), runtime, 'lineage names the runtime');
        problems.push(...compareWithPython(prediction, python.expected.get(id)!, classes).map((p) => `${id} ${p}`));
      }
      assert.deepEqual(problems.slice(0, 5), [], `${problems.length} predictions differ from Python's`);

      const status = await getJson<{ runtime: string }>(app.adminPort!, '/status');
      assert.equal(status.body.runtime, runtime, '/status names the runtime');
      assert.equal(metricValue(await getText(app.adminPort!, '/metrics'), 'streamserve_model_info', `runtime="${runtime}"`), 1, '/metrics names the runtime');
    });
  }

  test('`run` refuses a model whose signature was written for another model, naming what disagrees (exit 1)', async (t) => {
    const topics = testTopics('python-mismatch');
    await createTestTopics(topics, 1, t);
    const dir = mkdtempSync(join(tmpdir(), 'streamserve-mismatch-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync('weights/iris/1.0.0/model.onnx', join(dir, 'model.onnx'));
    cpSync('weights/borehole-onnx/1.0.0/signature.json', join(dir, 'signature.json'));
    const cli = startCli(['run'], {
      KAFKA_BROKERS: testBrokers().join(','),
      INPUT_TOPIC: topics.input,
      OUTPUT_TOPIC: topics.output,
      DLQ_TOPIC: topics.dlq,
      GROUP_ID: topics.group,
      ADMIN_PORT: '0',
      MODEL_DIR: dir,
    });
    const code = await cli.exitWithin(60_000, 'run with a mismatched model');
    assert.equal(code, 1, cli.stderr().slice(-2000));
    assert.match(cli.stderr(), /SIGNATURE_INVALID/);
    assert.match(cli.stderr(), /model input \\?"input\\?" takes 4 columns but signature.json feeds it 8/);
    assert.match(cli.stderr(), /tensor \\?"variable\\?", which is not an output of the model/);
  });
});
