/** The environment variable that carries a model child process's WorkerInput (a worker thread gets it as workerData). */
export const HOST_INPUT_ENV = 'STREAMSERVE_MODEL_HOST';
