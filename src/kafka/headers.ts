/**
 * Header names streamserve writes. Predictions carry lineage; dead letters carry the failure as well.
 * Downstream consumers read these names, so they are part of the wire contract (see README).
 */
export const Header = {
  sourceTopic: 'streamserve.source.topic',
  sourcePartition: 'streamserve.source.partition',
  sourceOffset: 'streamserve.source.offset',
  modelName: 'streamserve.model.name',
  modelVersion: 'streamserve.model.version',
  /** What scored the prediction (ModelRuntime.runtime, e.g. `tfjs-wasm`). */
  runtime: 'streamserve.runtime',
  /** Set on outputs of `replay`, with the replay's id, so re-scored history can be told from live output. */
  replay: 'streamserve.replay',
  errorStage: 'streamserve.error.stage',
  errorCode: 'streamserve.error.code',
  errorMessage: 'streamserve.error.message',
  /** On a dead letter of a Schema-Registry-framed input (WIRE_FORMAT=confluent): the schema id it was framed with. */
  errorSchemaId: 'streamserve.error.schema.id',
  /** On a dead letter too large for its topic: what of the input it leaves out (`value`, `value,headers`, …). */
  errorDropped: 'streamserve.error.dropped',
} as const;
