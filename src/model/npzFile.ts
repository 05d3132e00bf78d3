import { unzipSync } from 'fflate';

/**
 * Reads a NumPy `.npz` file (np.savez or np.savez_compressed: a zip of `.npy` files) into Float32 arrays. Only what a
 * dense network's weights need: little-endian float32 or float64 arrays, C or Fortran order, any shape. Throws an
 * Error naming the array and what is wrong with it.
 */

export interface NpyArray {
  shape: readonly number[];
  /** Row-major (C order), converted to float32. */
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function parseHeader(text: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (8, 32), }
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) throw new Error(`${name}: not a .npy header: ${text.trim()}`);
  const dims = shape.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (!dims.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${name}: bad shape (${shape})`);
  return { descr, fortran: fortran === 'True', shape: dims };
}

export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new Error(`${name}: not a .npy array`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = parseHeader(new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength)), name);
  const size = header.shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const itemSize = header.descr === '<f4' ? 4 : header.descr === '<f8' ? 8 : 0;
  if (itemSize === 0) throw new Error(`${name}: holds ${header.descr} values; little-endian float32 (<f4) or float64 (<f8) is needed`);
  if (bytes.length - start < size * itemSize) throw new Error(`${name}: ${bytes.length - start} bytes of data for ${size} values`);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = itemSize === 4 ? view.getFloat32(start + i * 4, true) : view.getFloat64(start + i * 8, true);
  return { shape: header.shape, data: header.fortran ? toRowMajor(data, header.shape) : data };
}

/** Fortran (column-major) order to C order, for 2-D arrays (1-D ones are the same either way). */
function toRowMajor(data: Float32Array, shape: readonly number[]): Float32Array {
  if (shape.length !== 2) return data;
  const [rows, cols] = shape as [number, number];
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = data[c * rows + r]!;
  return out;
}

/** The arrays of an .npz file by name (`W0`, or `arr_0` for np.savez's positional arrays), without `.npy`. */
export function parseNpz(bytes: Uint8Array): Map<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (cause) {
    throw new Error(`not a .npz (zip) file: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const arrays = new Map<string, NpyArray>();
  for (const [file, content] of Object.entries(files)) {
    if (!file.endsWith('.npy')) continue;
    const name = file.slice(0, -'.npy'.length);
    arrays.set(name, parseNpy(content, name));
  }
  return arrays;
}
