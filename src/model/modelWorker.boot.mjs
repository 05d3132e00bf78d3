// Starts the model worker from TypeScript sources: loader hooks registered in the main thread do not reach worker
// threads, so the worker loads tsx itself. (A build to JavaScript runs modelWorker.js directly.)
import { tsImport } from 'tsx/esm/api';

await tsImport('./modelWorker.ts', import.meta.url);
