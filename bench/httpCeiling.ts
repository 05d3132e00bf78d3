/**
 * A reference for bench/http.ts, not a design anyone would ship: node:http with no framework and no model, answering
 * each `POST /predict` with a prediction-shaped JSON object once its body is read and parsed. Under the same
 * generator on the same machine, its requests/s is the most any single-threaded Node.js server could show here, so
 * it tells how much of streamserve's figure the HTTP layer and the machine leave to the model path.
 *
 * Argument: the port. Prints nothing; ends on SIGTERM.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let input: { id?: string; event_time?: number };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString()) as typeof input;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const body = JSON.stringify({ id: input.id ?? null, flow_rate: 0, model_name: 'none', model_version: '0', event_time: input.event_time ?? Date.now() });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
