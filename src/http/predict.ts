import type { FastifyInstance } from 'fastify';
import { RecordError } from '../errors.js';
import type { Signature } from '../model/signature.js';
import type { Outcome } from '../scorer/outcome.js';
import { outputJson } from './outputJson.js';
import type { InferenceContext } from './context.js';
import { badRequest } from './replies.js';

/**
 * `POST /predict`, the Flask tutorial's route in JSON: one input object (the input schema's field names), answered
 * with its prediction (200) or its error (422, with the code a dead letter would carry); or a list of them, answered
 * with one entry per input, in order, each a prediction or `{ "error": … }` (200). A body that is neither is a 400.
 */
export function registerPredict(app: FastifyInstance, ctx: InferenceContext): void {
  const outputs = outputJson(ctx.signature);
  app.post('/predict', async (request, reply) => {
    const body = request.body;
    const single = !Array.isArray(body);
    if (body === undefined || body === null || (single && typeof body !== 'object')) {
      return badRequest(reply, 'the body must be a JSON object (one input) or an array of them, with Content-Type: application/json');
    }
    const items = single ? [body] : (body as unknown[]);
    if (items.length === 0) return reply.send([]);
    const outcomes = await ctx.queue.score(
      items.map((item, i) => ctx.reader(item, i, request.id)),
      ctx.requestOptions(request, reply),
    );
    const entries = outcomes.map((o) => predictionEntry(ctx.signature, outputs, o));
    if (!single) return reply.send(entries);
    return reply.code(outcomes[0] instanceof RecordError ? 422 : 200).send(entries[0]);
  });
}

/** One input's answer: the prediction's fields and the model's name and version, or its error with its code. */
export function predictionEntry(signature: Signature, outputs: (values: ArrayLike<number>) => Record<string, unknown>, outcome: Outcome): Record<string, unknown> {
  if (outcome instanceof RecordError) return { error: { code: outcome.code, stage: outcome.stage, message: outcome.message } };
  return {
    [signature.idField]: outcome.id,
    ...outputs(outcome.outputs),
    model_name: signature.name,
    model_version: signature.version,
    [signature.eventTimeField]: outcome.eventTime,
  };
}
