import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Signature } from '../model/signature.js';
import type { JsonInputReader } from './jsonInput.js';
import type { RequestOptions, RequestQueue } from './requestQueue.js';

/** The request header a caller shortens its deadline with (milliseconds; never past HTTP_TIMEOUT_MS). */
export const TIMEOUT_HEADER = 'x-streamserve-timeout-ms';

/** What the inference routes share: the model's signature and runtime, the input reader and the request queue. */
export interface InferenceContext {
  signature: Signature;
  /** What scores the rows (e.g. `tfjs-wasm`): the Open Inference Protocol's `platform`. */
  runtime: string;
  /** Reads JSON inputs (made once); default ids start with the request id passed to it. */
  reader: JsonInputReader;
  queue: RequestQueue;
  /** The request's deadline (the timeout header) and what to do when its caller goes away. */
  requestOptions(request: FastifyRequest, reply: FastifyReply): RequestOptions;
  /** Whether the model is loaded and scoring (the server's and the model's readiness). */
  modelReady(): boolean;
}
