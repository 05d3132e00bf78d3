import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorCodes, RecordError } from '../errors.js';
import type { InputFields, Prediction } from '../scorer/outcome.js';
import { outputMetadata, outputTensors } from './outputJson.js';
import type { InferenceContext } from './context.js';
import { badRequest, sendError } from './replies.js';

/** Tensor datatypes a numeric signature field takes (the protocol's names). */
const NUMERIC = new Set(['FP16', 'FP32', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);

const parameters = z.record(z.string(), z.unknown()).optional();
const inferRequest = z.object({
  id: z.string().optional(),
  parameters,
  inputs: z
    .array(z.object({ name: z.string(), shape: z.array(z.number().int().min(0)), datatype: z.string(), parameters, data: z.array(z.unknown()).optional() }))
    .min(1),
  outputs: z.array(z.object({ name: z.string(), parameters })).optional(),
});
type InferRequest = z.infer<typeof inferRequest>;

const BINARY_REFUSED =
  "binary tensor data (Triton's binary data extension) is not supported: send JSON tensors (Triton's client: set_data_from_numpy(array, binary_data=False))";

/**
 * The Open Inference Protocol v2 over REST (KServe, Triton, Seldon, MLServer speak it, so their clients work as
 * they are): server and model metadata and health, and `infer` with one FP64 (or any numeric type) tensor of shape
 * [n] per signature input field, answered with one tensor per signature output: FP64 [n] for a value, BYTES or INT64
 * [n] for a label, FP64 [n, classes] for probabilities. The protocol has
 * no per-row errors: a row that cannot be scored fails the request with a 400 naming the row and its code.
 */
export function registerOpenInference(app: FastifyInstance, ctx: InferenceContext, server: { name: string; version: string }): void {
  const { signature } = ctx;
  const model = { name: signature.name, version: signature.version };

  app.get('/v2', async () => ({ name: server.name, version: server.version, extensions: [] }));
  app.get('/v2/health/live', async (_request, reply) => reply.code(200).send({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = ctx.modelReady();
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  /** The model the path names, or a 404 that says which one is served. */
  const known = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const { name, version } = request.params as { name: string; version?: string };
    if (name === model.name && (version === undefined || version === model.version)) return true;
    sendError(reply, 404, ErrorCodes.NOT_FOUND, `model ${name}${version === undefined ? '' : ` version ${version}`} is not served here (this server serves ${model.name} version ${model.version})`);
    return false;
  };
  const metadata = {
    name: model.name,
    versions: [model.version],
    platform: ctx.runtime,
    inputs: signature.inputs.map((c) => ({ name: c.field, datatype: 'FP64', shape: [-1] })),
    outputs: outputMetadata(signature),
  };

  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(base, async (request, reply) => (known(request, reply) ? reply.send(metadata) : reply));
    app.get(`${base}/ready`, async (request, reply) => {
      if (!known(request, reply)) return reply;
      const ready = ctx.modelReady();
      return reply.code(ready ? 200 : 503).send({ name: model.name, ready });
    });
    app.post(`${base}/infer`, async (request, reply) => {
      if (!known(request, reply)) return reply;
      const parsed = inferRequest.safeParse(request.body);
      if (!parsed.success) {
        return badRequest(reply, `not an inference request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
      }
      const rows = readTensors(parsed.data, ctx, request.id);
      if (typeof rows === 'string') return badRequest(reply, rows);
      const outcomes = await ctx.queue.score(rows, ctx.requestOptions(request, reply));
      const failed = outcomes.findIndex((o) => o instanceof RecordError);
      if (failed >= 0) {
        const e = outcomes[failed] as RecordError;
        return badRequest(reply, `row ${failed}: ${e.code}: ${e.message}`);
      }
      const wanted = parsed.data.outputs?.map((o) => o.name) ?? signature.outputs.map((o) => o.field);
      const unknown = wanted.filter((n) => !signature.outputs.some((o) => o.field === n));
      if (unknown.length > 0) return badRequest(reply, `unknown output(s) ${unknown.join(', ')}: the model has ${signature.outputs.map((o) => o.field).join(', ')}`);
      return reply.send({
        model_name: model.name,
        model_version: model.version,
        id: parsed.data.id ?? request.id,
        outputs: outputTensors(signature, outcomes.map((o) => (o as Prediction).outputs), wanted),
      });
    });
  }
}

/** The request's tensors as rows of input fields (read like a JSON input), or the message of a 400. */
function readTensors(body: InferRequest, ctx: InferenceContext, requestId: string): (InputFields | RecordError)[] | string {
  const fields = ctx.signature.inputs.map((c) => c.field);
  const byName = new Map(body.inputs.map((t) => [t.name, t]));
  const unknown = body.inputs.filter((t) => !fields.includes(t.name)).map((t) => t.name);
  if (unknown.length > 0) return `unknown input tensor(s) ${unknown.join(', ')}: the model takes ${fields.join(', ')}`;
  const missing = fields.filter((f) => !byName.has(f));
  if (missing.length > 0) return `missing input tensor(s) ${missing.join(', ')}: the model takes ${fields.join(', ')}, one of shape [n] each`;
  let n: number | null = null;
  const columns = new Map<string, unknown[]>();
  for (const t of body.inputs) {
    if (t.parameters?.binary_data_size !== undefined || t.data === undefined) return BINARY_REFUSED;
    if (!NUMERIC.has(t.datatype)) return `input ${t.name} has datatype ${t.datatype}: it takes a numeric tensor (FP64, FP32, INT64, ...)`;
    const [rows, ...rest] = t.shape;
    if (rows === undefined || rest.some((d) => d !== 1)) return `input ${t.name} has shape [${t.shape.join(', ')}]: one value per row, shape [n] (or [n, 1])`;
    const data = t.data.flat(Infinity);
    if (data.length !== rows) return `input ${t.name} has ${data.length} values for shape [${t.shape.join(', ')}]`;
    if (n !== null && rows !== n) return `input ${t.name} has ${rows} rows, others ${n}: every input tensor has one value per row`;
    n = rows;
    columns.set(t.name, data);
  }
  return Array.from({ length: n ?? 0 }, (_, i) => {
    const row: Record<string, unknown> = {};
    for (const f of fields) row[f] = columns.get(f)![i];
    return ctx.reader(row, i, requestId);
  });
}

export { BINARY_REFUSED };
