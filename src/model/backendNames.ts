import { ErrorCodes, StreamserveError } from '../errors.js';

/**
 * The TensorFlow.js device backends streamserve can run on; `tensorflow` needs @tensorflow/tfjs-node installed. A
 * detail of the tfjs runtime (the BACKEND setting, passed to it as `device`). Kept apart from backend.ts, which loads
 * TensorFlow.js on import, so validating the config costs the main thread nothing (the model worker pays for tfjs).
 */
export const BackendNames = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BackendNames)[number];

/** The BACKEND setting's default, for callers that name no device. */
const DEFAULT_DEVICE: BackendName = 'wasm';

/** `device` arrives as a plain string (it may have crossed into the model worker); it must name a tfjs backend. */
export function deviceOf(device: string | undefined): BackendName {
  if (device === undefined) return DEFAULT_DEVICE;
  const name = BackendNames.find((n) => n === device);
  if (name === undefined) {
    // A name tfjs does not know is a configuration mistake; a known backend that cannot start is BACKEND_UNAVAILABLE.
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `device "${device}" is not a TensorFlow.js backend (one of ${BackendNames.join(', ')})`);
  }
  return name;
}
