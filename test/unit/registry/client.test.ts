import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCodes, isFatal } from '../../../src/errors.js';
import { RegistryClient, RegistryError } from '../../../src/registry/client.js';
import { valueSubject } from '../../../src/registry/subjects.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A fake registry on a free port; `handler` answers every request. Its base URL. */
async function fakeRegistry(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/apis/ccompat/v7`;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' });
  res.end(JSON.stringify(body));
};

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RegistryError, String(err));
    return err;
  }
  assert.fail('resolved, but should have failed');
}

describe('RegistryClient', () => {
  test('GET /schemas/ids/{id} under the base path, with basic auth; Avro when the answer names no type', async () => {
    let seen: { url?: string; auth?: string } = {};
    const url = await fakeRegistry((req, res) => {
      seen = { url: req.url!, auth: req.headers.authorization! };
      json(res, 200, { schema: '"string"' });
    });
    const client = new RegistryClient({ urls: [url], username: 'u', password: 'p', timeoutMs: 2000 });
    assert.deepEqual(await client.schemaById(42), { id: 42, schema: '"string"', schemaType: 'AVRO' });
    assert.equal(seen.url, '/apis/ccompat/v7/schemas/ids/42');
    assert.equal(seen.auth, `Basic ${Buffer.from('u:p').toString('base64')}`);
    client.close();
  });

  test("a base URL's query (a gateway's key) is kept on every request, after the request's path", async () => {
    const seen: string[] = [];
    const url = await fakeRegistry((req, res) => {
      seen.push(req.url!);
      json(res, 200, { schema: '"string"', id: 3 });
    });
    const client = new RegistryClient({ urls: [`${url}/?api_key=k1`], timeoutMs: 2000 });
    await client.schemaById(42);
    assert.equal(await client.register('s-value', '"string"'), 3);
    assert.deepEqual(seen, ['/apis/ccompat/v7/schemas/ids/42?api_key=k1', '/apis/ccompat/v7/subjects/s-value/versions?api_key=k1']);
    client.close();
  });

  test('a 404 is an answer (notFound, rejected, not retryable); a 5xx and no answer are the registry being unavailable', async () => {
    const statuses = new Map<string, number>([['/apis/ccompat/v7/schemas/ids/1', 404], ['/apis/ccompat/v7/schemas/ids/2', 503]]);
    const url = await fakeRegistry((req, res) => {
      const status = statuses.get(req.url!);
      if (status === undefined) return; // never answers
      json(res, status, { error_code: status === 404 ? 40403 : status, message: 'no' });
    });
    const client = new RegistryClient({ urls: [url], timeoutMs: 300 });
    const notFound = await failure(client.schemaById(1));
    assert.deepEqual([notFound.notFound, notFound.rejected, notFound.retryable, notFound.registryCode], [true, true, false, 40403]);
    const unavailable = await failure(client.schemaById(2));
    assert.deepEqual([unavailable.status, unavailable.code, unavailable.rejected, unavailable.retryable, isFatal(unavailable)], [503, ErrorCodes.REGISTRY_UNAVAILABLE, false, true, false]);
    const started = Date.now();
    const silent = await failure(client.schemaById(4));
    assert.deepEqual([silent.status, silent.code, silent.retryable], [null, ErrorCodes.REGISTRY_UNAVAILABLE, true]);
    assert.match(silent.message, /no answer within 300 ms/);
    assert.ok(Date.now() - started < 2000, 'bounded by the timeout');
    client.close();
  });

  for (const [status, code, says] of [
    [401, ErrorCodes.AUTHENTICATION_FAILED, /refused our credentials \(HTTP 401: no\) for GET \/apis\/ccompat\/v7\/schemas\/ids\/3/],
    [403, ErrorCodes.AUTHORIZATION_FAILED, /refused access \(HTTP 403: no\) for GET \/apis\/ccompat\/v7\/schemas\/ids\/3/],
  ] as const) {
    test(`a ${status} is fatal (${code}), not the registry being unavailable: named by its URL with the credentials redacted, the other URLs not tried`, async () => {
      let asked = 0;
      const url = await fakeRegistry((_req, res) => {
        asked++;
        json(res, status, { error_code: status, message: 'no' });
      });
      let other = 0;
      const next = await fakeRegistry((_req, res) => {
        other++;
        json(res, 200, { schema: '"string"' });
      });
      const withUserinfo = url.replace('http://', 'http://reader:Hunter2-registry-pw@');
      const client = new RegistryClient({ urls: [withUserinfo, next], timeoutMs: 1000 });
      const refused = await failure(client.schemaById(3));
      assert.deepEqual([refused.status, refused.code, refused.refused, refused.rejected, refused.retryable, isFatal(refused)], [status, code, true, false, false, true]);
      assert.ok(refused.message.startsWith(`the Schema Registry at ${url.replace('http://', 'http://[redacted]@')} `), refused.message);
      assert.match(refused.message, says);
      assert.doesNotMatch(refused.message, /Hunter2|reader/);
      assert.deepEqual([asked, other], [1, 0], 'an answer: the same registry behind another URL would say the same');
      client.close();
    });
  }

  test('several URLs: one that does not answer (or answers 5xx) is passed over, and the one that answered is asked first', async () => {
    let good = 0;
    const bad = await fakeRegistry((_req, res) => json(res, 500, { message: 'down' }));
    const ok = await fakeRegistry((_req, res) => {
      good++;
      json(res, 200, { id: 7 });
    });
    const refused = 'http://127.0.0.1:1/apis/ccompat/v7';
    const client = new RegistryClient({ urls: [refused, bad, ok], timeoutMs: 1000 });
    assert.equal(await client.register('s-value', '"string"'), 7);
    assert.equal(await client.lookup('s-value', '"string"'), 7);
    assert.equal(good, 2);
    assert.equal(client.requests, 4, 'three tries for the first call, one for the second');
    client.close();
  });
});

describe('valueSubject', () => {
  test("Confluent's strategies: topic, record, topic-record", () => {
    assert.equal(valueSubject('topic', 'borehole-inputs', 'streamserve.borehole.BoreholeInput'), 'borehole-inputs-value');
    assert.equal(valueSubject('record', 'borehole-inputs', 'streamserve.borehole.BoreholeInput'), 'streamserve.borehole.BoreholeInput');
    assert.equal(valueSubject('topic-record', 'borehole-inputs', 'streamserve.borehole.BoreholeInput'), 'borehole-inputs-streamserve.borehole.BoreholeInput');
  });
});
