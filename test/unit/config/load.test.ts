import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactedConfig } from '../../../src/config/load.js';
import { settings } from '../../../src/config/settings.js';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'streamserve-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function configFile(content: unknown): string {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The CONFIG_INVALID error loadConfig throws for these sources. */
function configError(sources: Parameters<typeof loadConfig>[0]): StreamserveError {
  try {
    loadConfig(sources);
  } catch (err) {
    assert.ok(err instanceof StreamserveError, String(err));
    assert.equal(err.code, ErrorCodes.CONFIG_INVALID);
    return err;
  }
  assert.fail('loadConfig accepted an invalid configuration');
}

/** The message's problem lines, one per violation. */
const problemLines = (err: Error) => err.message.split('\n').filter((l) => l.startsWith('  - '));

describe('loadConfig', () => {
  test('defaults with no sources', () => {
    const config = loadConfig();
    assert.equal(config.brokers, undefined);
    assert.equal(config.clientId, 'streamserve');
    assert.equal(config.ssl, false);
    assert.equal(config.inputTopic, 'borehole-inputs');
    assert.equal(config.outputTopic, 'borehole-predictions');
    assert.equal(config.dlqTopic, 'borehole-dead-letters');
    assert.equal(config.groupId, 'streamserve');
    assert.equal(config.backend, 'wasm');
    assert.equal(config.wireFormat, 'raw');
    assert.equal(config.maxBatchSize, 2048);
    assert.equal(config.maxBatchDelayMs, 5);
    assert.equal(config.maxInflightRecords, 16000);
    assert.equal(config.adminHost, '127.0.0.1');
    assert.equal(config.adminPort, 9464);
    assert.equal(config.saslPassword, undefined);
  });

  test('with HTTP_PORT set, fetches are smaller by default (32 KiB per partition); a value given still wins', () => {
    assert.equal(loadConfig().maxBytesPerPartition, 262144);
    assert.equal(loadConfig({ env: { HTTP_PORT: '8080' } }).maxBytesPerPartition, 32768);
    assert.equal(loadConfig({ env: { HTTP_PORT: '8080', MAX_BYTES_PER_PARTITION: '262144' } }).maxBytesPerPartition, 262144);
    assert.equal(loadConfig({ env: { HTTP_PORT: '8080' }, file: configFile({ maxBytesPerPartition: 65536 }) }).maxBytesPerPartition, 65536);
    assert.equal(loadConfig().maxInflightRecordsWhileHttp, 250);
  });

  test('environment variables set values, typed', () => {
    const config = loadConfig({ env: { MAX_BATCH_SIZE: '32', KAFKA_SSL: 'true', BACKEND: 'cpu', ADMIN_PORT: '0' } });
    assert.equal(config.maxBatchSize, 32);
    assert.equal(config.ssl, true);
    assert.equal(config.backend, 'cpu');
    assert.equal(config.adminPort, 0);
  });

  test('a flag wins over the environment', () => {
    const config = loadConfig({
      env: { MAX_BATCH_SIZE: '32', BACKEND: 'cpu', INPUT_TOPIC: 'from-env' },
      flags: { 'max-batch-size': '8', backend: 'wasm' },
    });
    assert.equal(config.maxBatchSize, 8);
    assert.equal(config.backend, 'wasm');
    assert.equal(config.inputTopic, 'from-env', 'the environment still applies where no flag is given');
  });

  test('the file is below the environment, above the defaults', () => {
    const file = configFile({ maxBatchSize: 100, maxBatchDelayMs: 20, groupId: 'from-file' });
    const config = loadConfig({ file, env: { MAX_BATCH_SIZE: '50' }, flags: { group: 'from-flag' } });
    assert.equal(config.maxBatchSize, 50, 'env over file');
    assert.equal(config.maxBatchDelayMs, 20, 'file over default');
    assert.equal(config.groupId, 'from-flag', 'flag over file');
  });

  test('an empty environment variable counts as unset', () => {
    const file = configFile({ maxBatchSize: 100 });
    assert.equal(loadConfig({ file, env: { MAX_BATCH_SIZE: '' } }).maxBatchSize, 100);
    assert.equal(loadConfig({ env: { MAX_BATCH_SIZE: '' } }).maxBatchSize, 2048);
  });

  test('every bad setting is reported at once, in one CONFIG_INVALID error naming its env var and flag', () => {
    const err = configError({ env: { MAX_BATCH_SIZE: 'abc', BACKEND: 'gpu', ADMIN_PORT: '70000' } });
    const lines = problemLines(err);
    assert.equal(lines.length, 3, err.message);
    for (const [name, env, flag] of [
      ['maxBatchSize', 'MAX_BATCH_SIZE', '--max-batch-size'],
      ['backend', 'BACKEND', '--backend'],
      ['adminPort', 'ADMIN_PORT', '--admin-port'],
    ] as const) {
      const line = lines.find((l) => l.includes(`${name} (`));
      assert.ok(line, `${name} is reported: ${err.message}`);
      assert.ok(line.includes(env), `${name} names ${env}: ${line}`);
      assert.ok(line.includes(flag), `${name} names ${flag}: ${line}`);
    }
    assert.match(err.message, /"abc"/, 'shows the value given');
    assert.match(err.message, /"gpu"/);
  });

  test('bad values from flags and the file are reported too, alongside env problems', () => {
    const file = configFile({ maxBatchDelayMs: -1 });
    const err = configError({ file, env: { KAFKA_SSL: 'maybe' }, flags: { 'max-inflight': '0' } });
    const lines = problemLines(err);
    assert.equal(lines.length, 3, err.message);
    assert.ok(lines.some((l) => l.includes('MAX_BATCH_DELAY_MS') && l.includes('--max-batch-delay-ms')));
    assert.ok(lines.some((l) => l.includes('KAFKA_SSL') && l.includes('--ssl')));
    assert.ok(lines.some((l) => l.includes('MAX_INFLIGHT_RECORDS') && l.includes('--max-inflight')));
  });

  test('an unknown key in the file is reported by name', () => {
    const file = configFile({ maxBatchSize: 8, maxBatchSzie: 9 });
    const err = configError({ file });
    assert.equal(problemLines(err).length, 1, err.message);
    assert.match(err.message, /maxBatchSzie \(config file\): unknown setting/);
  });

  test('an unknown key that happens to be an Object.prototype name is reported too', () => {
    const file = configFile({ toString: 'x', constructor: 1 });
    const err = configError({ file });
    assert.match(err.message, /toString \(config file\): unknown setting/);
    assert.match(err.message, /constructor \(config file\): unknown setting/);
  });

  test('a file that is not a JSON object is CONFIG_INVALID', () => {
    configError({ file: configFile('{ not json') });
    configError({ file: configFile([1, 2]) });
    configError({ file: join(dir, 'does-not-exist.json') });
  });

  test('the same input and output topic is refused', () => {
    const err = configError({ env: { INPUT_TOPIC: 'same', OUTPUT_TOPIC: 'same' } });
    assert.match(err.message, /outputTopic \(OUTPUT_TOPIC \/ --output-topic\): must differ from the input topic/);
  });

  test('a dead-letter topic equal to the input or output topic is refused', () => {
    assert.match(configError({ flags: { 'dlq-topic': 'borehole-inputs' } }).message, /dlqTopic/);
    assert.match(configError({ flags: { 'dlq-topic': 'borehole-predictions' } }).message, /dlqTopic/);
  });

  test('WIRE_FORMAT=confluent is accepted; SCHEMA_REGISTRY_URL is one or more URLs', () => {
    const config = loadConfig({ env: { WIRE_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: 'http://a:8081, https://b/apis/ccompat/v7' } });
    assert.equal(config.wireFormat, 'confluent');
    assert.deepEqual(config.schemaRegistryUrl, ['http://a:8081', 'https://b/apis/ccompat/v7']);
    assert.equal(loadConfig({ env: { WIRE_FORMAT: 'raw' } }).wireFormat, 'raw');
  });

  test('registry settings: a bad value stops startup naming the setting', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ WIRE_FORMAT: 'avro' }, /wireFormat \(WIRE_FORMAT/],
      [{ OUTPUT_WIRE_FORMAT: 'json' }, /outputWireFormat \(OUTPUT_WIRE_FORMAT/],
      [{ SCHEMA_REGISTRY_URL: 'registry:8081' }, /schemaRegistryUrl \(SCHEMA_REGISTRY_URL.*http\(s\)/],
      [{ SCHEMA_REGISTRY_TIMEOUT_MS: '0' }, /schemaRegistryTimeoutMs \(SCHEMA_REGISTRY_TIMEOUT_MS/],
      [{ SCHEMA_CACHE_SIZE: 'many' }, /schemaCacheSize \(SCHEMA_CACHE_SIZE/],
      [{ SUBJECT_NAME_STRATEGY: 'TopicNameStrategy' }, /subjectNameStrategy \(SUBJECT_NAME_STRATEGY/],
      [{ AUTO_REGISTER_SCHEMAS: 'yes' }, /autoRegisterSchemas \(AUTO_REGISTER_SCHEMAS/],
      [{ SCHEMA_REGISTRY_USERNAME: 'u' }, /SCHEMA_REGISTRY_PASSWORD/],
    ];
    for (const [env, pattern] of cases) assert.match(configError({ env }).message, pattern, JSON.stringify(env));
    const defaults = loadConfig();
    assert.equal(defaults.subjectNameStrategy, 'topic');
    assert.equal(defaults.autoRegisterSchemas, true);
    assert.equal(defaults.outputWireFormat, 'raw');
  });

  test("brokers: 'a:1, b:2' is two brokers, trimmed; a file may give an array", () => {
    assert.deepEqual(loadConfig({ env: { KAFKA_BROKERS: 'a:1, b:2' } }).brokers, ['a:1', 'b:2']);
    assert.deepEqual(loadConfig({ flags: { brokers: ' localhost:9092 ,,' } }).brokers, ['localhost:9092']);
    assert.deepEqual(loadConfig({ file: configFile({ brokers: ['k1:9092', 'k2:9093'] }) }).brokers, ['k1:9092', 'k2:9093']);
  });

  test('brokers without a port, or an empty list, are refused', () => {
    assert.match(configError({ env: { KAFKA_BROKERS: 'a:1,b' } }).message, /KAFKA_BROKERS/);
    assert.match(configError({ flags: { brokers: ' , ' } }).message, /--brokers/);
  });

  test('SASL needs a username and password', () => {
    const err = configError({ env: { KAFKA_SASL_MECHANISM: 'plain' } });
    assert.match(err.message, /KAFKA_SASL_USERNAME/);
    assert.match(err.message, /KAFKA_SASL_PASSWORD/);
  });

  test('redactedConfig hides the Schema Registry password', () => {
    const config = loadConfig({ env: { SCHEMA_REGISTRY_URL: 'http://r:8081', SCHEMA_REGISTRY_USERNAME: 'bob', SCHEMA_REGISTRY_PASSWORD: 'registry-secret' } });
    const shown = redactedConfig(config);
    assert.equal(shown.schemaRegistryPassword, '[redacted]');
    assert.equal(shown.schemaRegistryUsername, 'bob');
    assert.ok(!JSON.stringify(shown).includes('registry-secret'));
    assert.match(configError({ env: { SCHEMA_REGISTRY_URL: 'nope', SCHEMA_REGISTRY_PASSWORD: 'registry-secret' } }).message, /^(?![\s\S]*registry-secret)/);
  });

  test('redactedConfig hides saslPassword and nothing else', () => {
    const config = loadConfig({
      env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'hunter2-secret' },
    });
    assert.equal(config.saslPassword, 'hunter2-secret', 'the config itself keeps the password for kafkajs');
    const shown = redactedConfig(config);
    assert.equal(shown.saslPassword, '[redacted]');
    assert.equal(shown.saslUsername, 'alice');
    assert.equal(shown.maxBatchSize, 2048);
    assert.ok(!JSON.stringify(shown).includes('hunter2-secret'));
    assert.equal(redactedConfig(loadConfig()).saslPassword, undefined, 'an unset secret stays unset');
  });

  test('every secret setting is redacted', () => {
    const secrets = Object.entries(settings).filter(([, s]) => 'secret' in s && s.secret);
    assert.deepEqual(secrets.map(([name]) => name).sort(), ['httpToken', 'saslPassword', 'schemaRegistryPassword']);
  });

  test('the result is frozen', () => {
    const config = loadConfig({ env: { KAFKA_BROKERS: 'a:1' } });
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { maxBatchSize: number }).maxBatchSize = 1;
    }, TypeError);
    assert.equal(config.maxBatchSize, 2048);
  });

  test('the brokers list inside the result is frozen too', () => {
    const config = loadConfig({ env: { KAFKA_BROKERS: 'a:1' } });
    assert.throws(() => config.brokers!.push('evil:1'), TypeError);
    assert.deepEqual(config.brokers, ['a:1']);
  });
});
