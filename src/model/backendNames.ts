/**
 * The TensorFlow.js device backends streamserve can run on; `tensorflow` needs @tensorflow/tfjs-node installed. A
 * detail of the tfjs runtime (the BACKEND setting, passed to it as `device`). Kept apart from backend.ts, which loads
 * TensorFlow.js on import, so validating the config costs the main thread nothing (the model worker pays for tfjs).
 */
export const BackendNames = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BackendNames)[number];
