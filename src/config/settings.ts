import { z } from 'zod';
import { BackendNames } from '../model/backendNames.js';
import type { WireFormat } from '../codec/inputDecoder.js';

/**
 * Every setting, declared once: its environment variable, its CLI flag, its type and default, and what it
 * does. The Config type, the validator, the CLI's flags and the README's table all come from this list.
 */
interface SettingSpec<S extends z.ZodType = z.ZodType> {
  env: string;
  flag: string;
  schema: S;
  doc: string;
  /** Redacted wherever the config is logged or shown. */
  secret?: true;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const topic = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[a-zA-Z0-9._-]+$/, 'a topic name uses only letters, digits, ".", "_" and "-"');
const brokerList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker is host:port')).min(1, 'at least one broker'));

function setting<S extends z.ZodType>(spec: SettingSpec<S>): SettingSpec<S> {
  return spec;
}

const urlList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(z.string().regex(/^https?:\/\/[^\s,]+$/, 'each URL is http(s)://host[:port][/path]')).min(1, 'at least one URL'));

/** The wire formats streamserve reads and writes: bare Avro, or Confluent's Schema Registry framing. */
const wireFormats = ['raw', 'confluent'] as const satisfies readonly WireFormat[];

/** MAX_BYTES_PER_PARTITION's default when HTTP is served beside Kafka (HTTP_PORT set). */
export const FETCH_BYTES_WHILE_HTTP = 32768;

export const settings = {
  brokers: setting({
    env: 'KAFKA_BROKERS',
    flag: 'brokers',
    schema: brokerList.optional(),
    doc: 'Comma-separated host:port list. `demo` starts a local broker when unset; `run` requires it.',
  }),
  clientId: setting({ env: 'KAFKA_CLIENT_ID', flag: 'client-id', schema: z.string().min(1).default('streamserve'), doc: 'Kafka client id.' }),
  ssl: setting({ env: 'KAFKA_SSL', flag: 'ssl', schema: bool.default(false), doc: 'Connect with TLS.' }),
  saslMechanism: setting({
    env: 'KAFKA_SASL_MECHANISM',
    flag: 'sasl-mechanism',
    schema: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    doc: 'SASL mechanism; needs username and password.',
  }),
  saslUsername: setting({ env: 'KAFKA_SASL_USERNAME', flag: 'sasl-username', schema: z.string().optional(), doc: 'SASL username.' }),
  saslPassword: setting({
    env: 'KAFKA_SASL_PASSWORD',
    flag: 'sasl-password',
    schema: z.string().optional(),
    doc: 'SASL password (redacted in logs and /status).',
    secret: true,
  }),
  inputTopic: setting({ env: 'INPUT_TOPIC', flag: 'input-topic', schema: topic.default('borehole-inputs'), doc: 'Topic of Avro inputs.' }),
  outputTopic: setting({ env: 'OUTPUT_TOPIC', flag: 'output-topic', schema: topic.default('borehole-predictions'), doc: 'Topic predictions are written to.' }),
  dlqTopic: setting({ env: 'DLQ_TOPIC', flag: 'dlq-topic', schema: topic.default('borehole-dead-letters'), doc: 'Topic dead letters are written to.' }),
  groupId: setting({ env: 'GROUP_ID', flag: 'group', schema: z.string().min(1).default('streamserve'), doc: 'Consumer group; instances with the same group share partitions.' }),
  guarantee: setting({
    env: 'GUARANTEE',
    flag: 'guarantee',
    schema: z.enum(['at-least-once', 'exactly-once']).default('at-least-once'),
    doc: 'at-least-once (a crash may repeat outcomes) or exactly-once (outcomes and offsets in one transaction; read with read_committed).',
  }),
  transactionalIdPrefix: setting({
    env: 'TRANSACTIONAL_ID_PREFIX',
    flag: 'transactional-id-prefix',
    schema: z.string().min(1).optional(),
    doc: 'exactly-once: transactional ids are <prefix>-<input topic>-<partition>; defaults to the group id.',
  }),
  startFrom: setting({
    env: 'START_FROM',
    flag: 'start-from',
    schema: z.enum(['earliest', 'latest']).default('earliest'),
    doc: 'Where a new consumer group starts: earliest (score the whole topic) or latest.',
  }),
  modelDir: setting({ env: 'MODEL_DIR', flag: 'model', schema: z.string().min(1).default('weights/borehole'), doc: 'Model directory: signature.json and one model file (model.json + shards, model.onnx or model.npz), which picks the runtime.' }),
  backend: setting({ env: 'BACKEND', flag: 'backend', schema: z.enum(BackendNames).default('wasm'), doc: 'TensorFlow.js backend: tensorflow (needs @tensorflow/tfjs-node), wasm, cpu.' }),
  inferenceThread: setting({
    env: 'INFERENCE_THREAD',
    flag: 'inference-thread',
    schema: z.enum(['worker', 'main']).default('worker'),
    doc: 'Run the model off the main thread (a long model call cannot block Kafka heartbeats): in a worker thread, an ONNX model in a child process (a hung native call is killed); or on the main thread.',
  }),
  inferenceTimeoutMs: setting({
    env: 'INFERENCE_TIMEOUT_MS',
    flag: 'inference-timeout-ms',
    schema: int(0, 600_000).default(30_000),
    doc: 'A model call not answered this long is abandoned, the model worker replaced and the batch split; counts toward model health (0: no timeout).',
  }),
  inputSchema: setting({ env: 'INPUT_SCHEMA', flag: 'input-schema', schema: z.string().min(1).default('schemas/borehole-input.avsc'), doc: 'Avro reader schema of inputs.' }),
  outputSchema: setting({ env: 'OUTPUT_SCHEMA', flag: 'output-schema', schema: z.string().min(1).default('schemas/borehole-prediction.avsc'), doc: 'Avro schema of predictions.' }),
  wireFormat: setting({
    env: 'WIRE_FORMAT',
    flag: 'wire-format',
    schema: z.enum(wireFormats).default('raw'),
    doc: 'Input framing: raw (bare Avro written with INPUT_SCHEMA) or confluent (magic byte, schema id, Avro written with the producer\'s schema, resolved to INPUT_SCHEMA; needs SCHEMA_REGISTRY_URL).',
  }),
  outputWireFormat: setting({
    env: 'OUTPUT_WIRE_FORMAT',
    flag: 'output-wire-format',
    schema: z.enum(wireFormats).default('raw'),
    doc: 'Prediction framing: raw, or confluent (OUTPUT_SCHEMA registered under the output subject; needs SCHEMA_REGISTRY_URL). Dead letters keep the input bytes.',
  }),
  schemaRegistryUrl: setting({
    env: 'SCHEMA_REGISTRY_URL',
    flag: 'schema-registry-url',
    schema: urlList.optional(),
    doc: 'Comma-separated base URLs of one Schema Registry (Confluent API; Apicurio: …/apis/ccompat/v7), tried in turn. Needed by the confluent wire formats. Credentials in a URL (userinfo, ?api_key=…, kept on every request) are used and redacted wherever it is shown.',
  }),
  schemaRegistryUsername: setting({
    env: 'SCHEMA_REGISTRY_USERNAME',
    flag: 'schema-registry-username',
    schema: z.string().min(1).optional(),
    doc: 'Basic-auth user for the Schema Registry (with SCHEMA_REGISTRY_PASSWORD).',
  }),
  schemaRegistryPassword: setting({
    env: 'SCHEMA_REGISTRY_PASSWORD',
    flag: 'schema-registry-password',
    schema: z.string().optional(),
    doc: 'Basic-auth password for the Schema Registry (redacted in logs and /status).',
    secret: true,
  }),
  schemaRegistryCaFile: setting({
    env: 'SCHEMA_REGISTRY_CA_FILE',
    flag: 'schema-registry-ca-file',
    schema: z.string().min(1).optional(),
    doc: 'PEM file of the CA(s) to trust for https registry URLs.',
  }),
  schemaRegistryTimeoutMs: setting({
    env: 'SCHEMA_REGISTRY_TIMEOUT_MS',
    flag: 'schema-registry-timeout-ms',
    schema: int(100, 60_000).default(10_000),
    doc: 'A registry request not answered this long counts as the registry being unavailable (the input pauses; not poison).',
  }),
  schemaCacheSize: setting({
    env: 'SCHEMA_CACHE_SIZE',
    flag: 'schema-cache-size',
    schema: int(1, 1_000_000).default(1000),
    doc: 'Writer schemas (by id) kept resolved at most; the least recently used is looked up again when needed.',
  }),
  subjectNameStrategy: setting({
    env: 'SUBJECT_NAME_STRATEGY',
    flag: 'subject-name-strategy',
    schema: z.enum(['topic', 'record', 'topic-record']).default('topic'),
    doc: 'Subject of a topic\'s values: topic (<topic>-value), record (<record full name>) or topic-record (<topic>-<record full name>).',
  }),
  autoRegisterSchemas: setting({
    env: 'AUTO_REGISTER_SCHEMAS',
    flag: 'auto-register-schemas',
    schema: bool.default(true),
    doc: 'OUTPUT_WIRE_FORMAT=confluent: register OUTPUT_SCHEMA under the output subject at startup; false only looks it up (locked-down registries).',
  }),
  maxBatchSize: setting({ env: 'MAX_BATCH_SIZE', flag: 'max-batch-size', schema: int(1, 65536).default(2048), doc: 'Rows per model call at most.' }),
  maxBatchDelayMs: setting({ env: 'MAX_BATCH_DELAY_MS', flag: 'max-batch-delay-ms', schema: int(0, 60000).default(5), doc: 'Longest a row waits for its batch to fill.' }),
  maxInflightRecords: setting({ env: 'MAX_INFLIGHT_RECORDS', flag: 'max-inflight', schema: int(1).default(16000), doc: 'Records held unacknowledged before the input is paused (resumed at half).' }),
  maxInflightRecordsWhileHttp: setting({
    env: 'MAX_INFLIGHT_RECORDS_WHILE_HTTP',
    flag: 'max-inflight-while-http',
    schema: int(0).default(250),
    doc: '`run` with HTTP_PORT: while HTTP requests come in (one in the last second), the Kafka input holds at most this many records in flight, so a request waits behind less Kafka work (0: MAX_INFLIGHT_RECORDS).',
  }),
  maxBytesPerPartition: setting({
    env: 'MAX_BYTES_PER_PARTITION',
    flag: 'max-bytes-per-partition',
    schema: int(1024).default(262144),
    doc: `Fetch size per partition; bounds what one fetch adds in flight. ${FETCH_BYTES_WHILE_HTTP} by default when HTTP_PORT is set (a fetch is decoded in one go, and an HTTP request waits behind it).`,
  }),
  fetchMinBytes: setting({
    env: 'FETCH_MIN_BYTES',
    flag: 'fetch-min-bytes',
    schema: int(1).default(16384),
    doc: 'A fetch returns once this much input is there or FETCH_MAX_WAIT_MS passed: fewer, fuller fetches under load.',
  }),
  fetchMaxWaitMs: setting({
    env: 'FETCH_MAX_WAIT_MS',
    flag: 'fetch-max-wait-ms',
    schema: int(1, 30000).default(10),
    doc: 'Longest a fetch waits for FETCH_MIN_BYTES; also how long fetching idles while every partition is paused.',
  }),
  commitIntervalMs: setting({
    env: 'COMMIT_INTERVAL_MS',
    flag: 'commit-interval-ms',
    schema: int(0, 60000).default(200),
    doc: 'At-least-once: shortest time between offset commits (a crash repeats about this much work).',
  }),
  sessionTimeoutMs: setting({ env: 'SESSION_TIMEOUT_MS', flag: 'session-timeout-ms', schema: int(6000).default(30000), doc: 'Consumer group session timeout.' }),
  heartbeatIntervalMs: setting({ env: 'HEARTBEAT_INTERVAL_MS', flag: 'heartbeat-interval-ms', schema: int(100).default(3000), doc: 'Consumer heartbeat interval.' }),
  shutdownTimeoutMs: setting({ env: 'SHUTDOWN_TIMEOUT_MS', flag: 'shutdown-timeout-ms', schema: int(100).default(30000), doc: 'Deadline for a graceful stop.' }),
  adminHost: setting({ env: 'ADMIN_HOST', flag: 'admin-host', schema: z.string().min(1).default('127.0.0.1'), doc: 'Admin HTTP bind address.' }),
  adminPort: setting({ env: 'ADMIN_PORT', flag: 'admin-port', schema: int(0, 65535).default(9464), doc: 'Admin HTTP port (0 = any free port).' }),
  httpPort: setting({
    env: 'HTTP_PORT',
    flag: 'http-port',
    schema: int(0, 65535).optional(),
    doc: 'Inference HTTP port (POST /predict, Open Inference Protocol v2; 0 = any free port). `run` serves HTTP too only when set; `serve` defaults to 8080.',
  }),
  httpHost: setting({ env: 'HTTP_HOST', flag: 'http-host', schema: z.string().min(1).default('127.0.0.1'), doc: 'Inference HTTP bind address.' }),
  httpToken: setting({
    env: 'HTTP_TOKEN',
    flag: 'http-token',
    schema: z.string().min(1).optional(),
    doc: 'When set, inference requests need `Authorization: Bearer <token>` (the /v2/health routes excepted); redacted.',
    secret: true,
  }),
  httpMaxQueue: setting({
    env: 'HTTP_MAX_QUEUE',
    flag: 'http-max-queue',
    schema: int(1).default(4096),
    doc: 'HTTP rows waiting for the model at most; a request past it gets 429 with Retry-After at once.',
  }),
  httpTimeoutMs: setting({
    env: 'HTTP_TIMEOUT_MS',
    flag: 'http-timeout-ms',
    schema: int(1, 600_000).default(10_000),
    doc: 'Deadline of an inference request (504 past it); a caller may shorten it with the X-Streamserve-Timeout-Ms header.',
  }),
  httpMaxBodyBytes: setting({ env: 'HTTP_MAX_BODY_BYTES', flag: 'http-max-body-bytes', schema: int(1024).default(8 * 1024 * 1024), doc: 'Largest inference request body (413 past it).' }),
  logLevel: setting({ env: 'LOG_LEVEL', flag: 'log-level', schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'), doc: 'Log level.' }),
  logFormat: setting({ env: 'LOG_FORMAT', flag: 'log-format', schema: z.enum(['json', 'pretty', 'auto']).default('auto'), doc: 'json, pretty, or auto (pretty on a terminal).' }),
} as const;

export type SettingName = keyof typeof settings;
export type Config = Readonly<{ [K in SettingName]: z.output<(typeof settings)[K]['schema']> }>;
export const settingNames = Object.keys(settings) as SettingName[];
