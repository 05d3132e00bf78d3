import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/settings.js';
import type { AvroType } from '../codec/schema.js';
import type { ModelRuntime } from '../model/model.js';
import type { Scorer } from '../scorer/scorer.js';
import { STREAMSERVE_VERSION } from '../version.js';
import { InferenceServer } from './server.js';

/** The inference port of `serve` when HTTP_PORT is not set. */
export const DEFAULT_HTTP_PORT = 8080;

/** The inference server of the configuration (HTTP_* settings) over the shared scorer and the loaded model. */
export function createInferenceServer(parts: { config: Config; scorer: Scorer; model: ModelRuntime; inputType: AvroType; registry: Registry; logger: Logger }): InferenceServer {
  const { config, model } = parts;
  return new InferenceServer({
    host: config.httpHost,
    port: config.httpPort ?? DEFAULT_HTTP_PORT,
    token: config.httpToken,
    maxQueue: config.httpMaxQueue,
    timeoutMs: config.httpTimeoutMs,
    bodyLimitBytes: config.httpMaxBodyBytes,
    scorer: parts.scorer,
    signature: model.signature,
    runtime: model.runtime,
    inputType: parts.inputType,
    registry: parts.registry,
    logger: parts.logger,
    server: { name: 'streamserve', version: STREAMSERVE_VERSION },
  });
}
