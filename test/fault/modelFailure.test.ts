/**
 * Poison isolation in the model (invariant 5, issue 3 item 2): the real model, wrapped to reject any batch that
 * holds a marked row (an input whose Hu is exactly 1000.5). The pipeline must split batches until only the marked
 * rows are left: those become dead letters (infer / INFERENCE_FAILED), every other input is predicted — with the
 * value the model gives that very row, not a neighbour's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../src/codec/schema.js';
import { ErrorCodes } from '../../src/errors.js';
import { borehole, sampleBoreholeInputs, type BoreholeInput } from '../../src/model/borehole.js';
import type { ModelRuntime } from '../../src/model/model.js';
import { loadSignature, scaleInput, unscaleOutput } from '../../src/model/signature.js';
import { loadModel } from '../../src/model/tfjsModel.js';
import { featurize } from '../../src/scorer/featurize.js';
import { testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { caughtUp, faultConfig, startApp } from './support/inprocess.js';
import { boreholeInputType, OUTPUT_SCHEMA, publish } from './support/inputs.js';
import { failingOn, wrappedLoader } from './support/models.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES, PREDICTION, type Expected } from './support/tally.js';

const TOTAL = 10_000;
const PARTITIONS = 3;
const MARK_EVERY = 50;
const MARKED_HU = 1000.5;

for (const mode of GUARANTEES) {
  test(`a model that fails on marked rows: only those are dead-lettered, the rest predicted (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`marked-${mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const config = faultConfig(topics, mode, { 'max-batch-size': '64' });
    const signature = await loadSignature(`${config.modelDir}/signature.json`);
    const hu = signature.inputs.findIndex((c) => c.field === 'Hu');
    const marker = Math.fround(scaleInput(signature.inputs[hu]!, MARKED_HU));
    const isMarked = (row: Float32Array) => row[hu] === marker;

    const type = await boreholeInputType();
    const inputs = new Map<string, BoreholeInput>();
    const expected = new Map<string, Expected>();
    const samples = sampleBoreholeInputs(TOTAL, 77);
    const messages = samples.map((sample, i) => {
      const id = `marked-${mode}-${i}`;
      const marked = i % MARK_EVERY === MARK_EVERY - 1;
      const input = marked ? { ...sample, Hu: MARKED_HU } : sample;
      inputs.set(id, input);
      expected.set(id, marked ? { kind: 'deadLetter', stage: 'infer', code: ErrorCodes.INFERENCE_FAILED } : PREDICTION);
      return { key: id, value: type.toBuffer({ id, event_time: Date.now(), ...input }) };
    });
    const rows = new Map([...inputs].map(([id, input]) => [id, featurize(signature, { id, event_time: 0, ...input }).row]));
    const marked = [...rows.values()].filter(isMarked).length;
    assert.equal(marked, TOTAL / MARK_EVERY, 'exactly the marked inputs carry the marker');
    await publish(brokers, topics.input, messages);

    let real: ModelRuntime | undefined;
    const { app, stop } = await startApp(
      t,
      config,
      wrappedLoader((model) => {
        real = model;
        return failingOn(model, isMarked);
      }, loadModel),
    );
    const status = await caughtUp(app, brokers, PARTITIONS);
    // What the model gives each unmarked row on its own terms, computed while the pipeline is idle.
    const reference = await referenceOutputs(real!, rows, isMarked, signature.outputs[0]!);
    assert.equal(await stop(), 0);

    const outputType = await loadAvroSchema(OUTPUT_SCHEMA);
    let wrongValue = 0;
    const ape: number[] = [];
    await countAndReport({
      scenario: 'model-fails-on-marked-rows',
      mode,
      brokers,
      topics,
      expected,
      started,
      extra: { marked, modelCalls: status.counts.modelCalls },
      onMessage: (m, kind) => {
        if (kind !== 'prediction') return;
        const p = outputType.fromBuffer(m.value!) as { id: string; flow_rate: number };
        const want = reference.get(p.id);
        if (want === undefined || Math.abs(p.flow_rate - want) > 1e-4 * Math.abs(want)) wrongValue++;
        ape.push(Math.abs(p.flow_rate - borehole(inputs.get(p.id)!)) / borehole(inputs.get(p.id)!));
      },
    });
    assert.equal(wrongValue, 0, 'every prediction is the model output of its own row');
    const mape = ape.reduce((a, b) => a + b, 0) / ape.length;
    assert.ok(mape <= 0.01, `predictions match the borehole function (MAPE ${mape})`);
  });
}

/** flow_rate per id for every unmarked row, from the real model in batches of 256. */
async function referenceOutputs(
  model: ModelRuntime,
  rows: Map<string, Float32Array>,
  isMarked: (row: Float32Array) => boolean,
  output: Parameters<typeof unscaleOutput>[0],
): Promise<Map<string, number>> {
  const ids = [...rows].filter(([, row]) => !isMarked(row)).map(([id]) => id);
  const out = new Map<string, number>();
  for (let from = 0; from < ids.length; from += 256) {
    const chunk = ids.slice(from, from + 256);
    const input = new Float32Array(chunk.length * model.inputWidth);
    chunk.forEach((id, i) => input.set(rows.get(id)!, i * model.inputWidth));
    const result = await model.predict(input, chunk.length);
    chunk.forEach((id, i) => out.set(id, unscaleOutput(output, result[i * model.outputWidth]!)));
  }
  return out;
}
