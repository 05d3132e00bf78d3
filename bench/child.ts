/**
 * Entry of every benchmark child process: answers the orchestrator's calls ({ id, method, params }) with
 * { id, result } or { id, error }, one handler per method. `exit` ends the process cleanly (so --cpu-prof writes).
 */
type Handler = (params: never) => Promise<unknown>;

// One role per child, and only its modules are loaded: the peak RSS of a streamserve child is streamserve's own.
const roles: Record<string, () => Promise<Record<string, Handler>>> = {
  clients: async () => (await import('./clients.js')).clientHandlers,
  model: async () => (await import('./modelBench.js')).modelHandlers,
  serve: async () => (await import('./serve.js')).serveHandlers,
};
const role = process.argv[2] ?? '';
const load = roles[role];
if (!load) throw new Error(`unknown child role "${role}"`);
const handlers = await load();

interface Request {
  id: number;
  method: string;
  params: unknown;
}

process.on('message', (request: Request) => {
  if (request.method === 'exit') {
    process.disconnect?.();
    // Let pending I/O (logs) flush, then leave even if a library keeps a handle open.
    setTimeout(() => process.exit(0), 200);
    return;
  }
  const handler = handlers[request.method];
  const reply = (body: { result?: unknown; error?: string }) => process.send?.({ id: request.id, ...body });
  if (!handler) {
    reply({ error: `unknown method ${request.method}` });
    return;
  }
  (handler as (p: unknown) => Promise<unknown>)(request.params).then(
    (result) => reply({ result: result ?? null }),
    (err: unknown) => reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});

// The orchestrator died: do not linger.
process.on('disconnect', () => setTimeout(() => process.exit(0), 200));
