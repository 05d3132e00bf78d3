import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_SEARCHED_LENGTH, REDACTED, redactText, redactUrl, rememberSecrets, secretsInUrl } from '../../src/redact.js';
import { configSecrets, loadConfig, redactedConfig } from '../../src/config/load.js';
import { settingNames, settings } from '../../src/config/settings.js';

describe('redactUrl and redactText', () => {
  test("a URL's userinfo goes whole (user and password, or a token as the user), host, port and path stay", () => {
    assert.equal(redactUrl('http://user:pass@registry:8081/apis/ccompat/v7'), `http://${REDACTED}@registry:8081/apis/ccompat/v7`);
    assert.equal(redactUrl('https://TOKEN123@host/x'), `https://${REDACTED}@host/x`);
    assert.equal(redactUrl('http://u:p@ss:w@host:1/'), `http://${REDACTED}@host:1/`, 'to the last @ of the authority');
    assert.equal(redactUrl('http://host:8081/a@b'), 'http://host:8081/a@b', 'an @ in the path is no userinfo');
    assert.equal(redactUrl('http://host:8081/x'), 'http://host:8081/x');
  });

  test('credential-like query values go, the other parameters stay', () => {
    assert.equal(redactUrl('https://h/p?token=abc&x=1&api_key=k&access_token=t&X-Amz-Signature=s'), `https://h/p?token=${REDACTED}&x=1&api_key=${REDACTED}&access_token=${REDACTED}&X-Amz-Signature=${REDACTED}`);
    assert.equal(redactUrl('https://h/p?page=2&monkey=3'), 'https://h/p?page=2&monkey=3');
  });

  test('in free text and in JSON log lines: each URL, wherever it stands, the JSON still valid', () => {
    const line = JSON.stringify({ msg: 'GET http://a:b@h:1/x failed', urls: ['https://c:d@h2/y?token=z'], err: { stack: 'Error: at http://e:f@h3/' } });
    const out = redactText(line);
    assert.deepEqual(JSON.parse(out), { msg: `GET http://${REDACTED}@h:1/x failed`, urls: [`https://${REDACTED}@h2/y?token=${REDACTED}`], err: { stack: `Error: at http://${REDACTED}@h3/` } });
  });

  test('remembered secrets go from any text, raw, JSON-escaped or URL-encoded; short ones are not searched for', () => {
    rememberSecrets(['s3cr3t-"quoted"/value', 'short', undefined]);
    const secret = 's3cr3t-"quoted"/value';
    assert.equal(redactText(`a ${secret} b`), `a ${REDACTED} b`);
    assert.equal(redactText(JSON.stringify({ m: `x ${secret}` })), JSON.stringify({ m: `x ${REDACTED}` }));
    assert.equal(redactText(`q=${encodeURIComponent(secret)}`), `q=${REDACTED}`);
    assert.ok('short'.length < MIN_SEARCHED_LENGTH);
    assert.equal(redactText('a short word'), 'a short word');
  });

  test("secretsInUrl: a URL's userinfo (whole and its password, raw and decoded) and credential-like query values", () => {
    assert.deepEqual(secretsInUrl('http://us%40er:p%23ss@h/x?token=t%2F1&page=2'), ['us%40er:p%23ss', 'us@er:p#ss', 'p%23ss', 'p#ss', 't%2F1', 't/1']);
    assert.deepEqual(secretsInUrl('http://h/x'), []);
  });
});

describe('the config as shown', () => {
  const env = {
    KAFKA_BROKERS: 'b:9092',
    KAFKA_SASL_USERNAME: 'u',
    KAFKA_SASL_PASSWORD: 'sasl-password-1',
    SCHEMA_REGISTRY_URL: 'http://ru:url-password-2@r:8081/apis/ccompat/v7?token=url-token-3,http://r2:8081',
    SCHEMA_REGISTRY_USERNAME: 'reg',
    SCHEMA_REGISTRY_PASSWORD: 'registry-password-4',
    HTTP_TOKEN: 'http-token-5',
  };

  test('redactedConfig: every secret setting, and the credentials inside URLs, redacted; nothing else changed', () => {
    const config = loadConfig({ env });
    const shown = redactedConfig(config);
    for (const name of settingNames.filter((n) => 'secret' in settings[n])) assert.equal(shown[name], REDACTED, name);
    assert.deepEqual(shown.schemaRegistryUrl, [`http://${REDACTED}@r:8081/apis/ccompat/v7?token=${REDACTED}`, 'http://r2:8081']);
    assert.equal(shown.saslUsername, 'u');
    const text = JSON.stringify(shown);
    for (const secret of ['sasl-password-1', 'url-password-2', 'url-token-3', 'registry-password-4', 'http-token-5']) assert.ok(!text.includes(secret), secret);
  });

  test('configSecrets: the values of the secret settings and the credentials inside URLs', () => {
    const secrets = configSecrets(loadConfig({ env }));
    for (const secret of ['sasl-password-1', 'url-password-2', 'url-token-3', 'registry-password-4', 'http-token-5']) assert.ok(secrets.includes(secret), secret);
    assert.ok(!secrets.includes('reg') && !secrets.includes('u'), 'usernames are not secrets');
  });

  test('a config error quoting a URL quotes it redacted', () => {
    assert.throws(
      () => loadConfig({ env: { SCHEMA_REGISTRY_URL: 'ftp://ru:url-password-2@r:8081' } }),
      (err: Error) => err.message.includes(`ftp://${REDACTED}@r:8081`) && !err.message.includes('url-password-2'),
    );
  });
});
