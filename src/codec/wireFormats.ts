import type { Logger } from 'pino';
import type { Config } from '../config/settings.js';
import type { Signature } from '../model/signature.js';
import type { RegistryClient } from '../registry/client.js';
import { confluentInputDecoder, confluentOutputEncoder, registryClient } from '../registry/confluent.js';
import { rawAvroDecoder, type InputDecoder } from './inputDecoder.js';
import { avroPredictionEncoder, type PredictionEncoder } from './predictionEncoder.js';
import type { AvroType } from './schema.js';

/** True when WIRE_FORMAT or OUTPUT_WIRE_FORMAT needs the Schema Registry. */
export function usesRegistry(config: Config): boolean {
  return config.wireFormat === 'confluent' || config.outputWireFormat === 'confluent';
}

/**
 * The Kafka input's wire formats (WIRE_FORMAT, OUTPUT_WIRE_FORMAT): raw Avro, or framed through the Schema Registry
 * (whose client is returned too, for closing; with a confluent format this registers the output schema and checks
 * the input subject first). `decoder`, when given, replaces the WIRE_FORMAT decoder (a plug-in).
 */
export async function kafkaWireFormats(parts: {
  config: Config;
  inputType: AvroType;
  outputType: AvroType;
  signature: Signature;
  logger: Logger;
  decoder?: InputDecoder | undefined;
}): Promise<{ decoder: InputDecoder; encoder: PredictionEncoder; registry: RegistryClient | null }> {
  const { config, inputType, outputType, signature } = parts;
  const avroEncoder = avroPredictionEncoder(outputType, signature);
  const registry = usesRegistry(config) ? registryClient(config) : null;
  const logger = parts.logger.child({ component: 'schema-registry' });
  const encoder =
    config.outputWireFormat === 'confluent' ? await confluentOutputEncoder({ client: registry!, config, type: outputType, inner: avroEncoder, logger }) : avroEncoder;
  const decoder =
    parts.decoder ??
    (config.wireFormat === 'confluent' ? await confluentInputDecoder({ client: registry!, config, reader: inputType, signature, logger }) : rawAvroDecoder(inputType));
  return { decoder, encoder, registry };
}
