import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { AuthorizationError, classifyKafkaError, isFatal, kafkaFailure, type KafkaCall } from '../../../src/kafka/errors.js';
import { afterRetries, kafkajsError, protocolError } from './kafkajsErrors.js';

const write: KafkaCall = { operation: 'write', topics: ['predictions'], group: 'scorers', transactionalId: 'scorers-inputs-2' };
const otherwise = { code: ErrorCodes.PRODUCE_FAILED, message: 'writing 3 outcomes failed' };

describe('classifyKafkaError', () => {
  test('network, leader changes, request timeouts and coordinator moves are retryable, bare or after kafkajs gave up', async () => {
    const cases: [string, Error][] = [
      ['connection', kafkajsError('KafkaJSConnectionError', 'Connection error: ECONNREFUSED', { broker: '127.0.0.1:9092' })],
      ['connection closed', kafkajsError('KafkaJSConnectionClosedError', 'Closed connection', { host: '127.0.0.1', port: 9092 })],
      ['request timeout', kafkajsError('KafkaJSRequestTimeoutError', 'Request Produce(key: 0, version: 3) timed out')],
      ['no broker', kafkajsError('KafkaJSNoBrokerAvailableError')],
      ['NOT_LEADER_FOR_PARTITION', protocolError('NOT_LEADER_FOR_PARTITION', 6)],
      ['LEADER_NOT_AVAILABLE', protocolError('LEADER_NOT_AVAILABLE', 5)],
      ['REQUEST_TIMED_OUT', protocolError('REQUEST_TIMED_OUT', 7)],
      ['NOT_COORDINATOR_FOR_GROUP', protocolError('NOT_COORDINATOR_FOR_GROUP', 16)],
      ['GROUP_COORDINATOR_NOT_AVAILABLE', protocolError('GROUP_COORDINATOR_NOT_AVAILABLE', 15)],
      ['CONCURRENT_TRANSACTIONS', protocolError('CONCURRENT_TRANSACTIONS', 51)],
      ['NOT_ENOUGH_REPLICAS', protocolError('NOT_ENOUGH_REPLICAS', 19)],
      ['a plain Error', new Error('socket hang up')],
    ];
    for (const [what, err] of cases) {
      assert.equal(classifyKafkaError(err).kind, 'retryable', what);
      assert.equal(classifyKafkaError(await afterRetries(err)).kind, 'retryable', `${what}, retries exhausted`);
    }
  });

  test('a newer producer epoch is fencing: INVALID_PRODUCER_EPOCH, and PRODUCER_FENCED (code 90, unknown to kafkajs 2.2.4)', async () => {
    assert.deepEqual(classifyKafkaError(protocolError('INVALID_PRODUCER_EPOCH', 47)), { kind: 'fencing', type: 'INVALID_PRODUCER_EPOCH' });
    assert.deepEqual(classifyKafkaError(await afterRetries(protocolError('INVALID_PRODUCER_EPOCH', 47))), { kind: 'fencing', type: 'INVALID_PRODUCER_EPOCH' });
    assert.deepEqual(classifyKafkaError(protocolError('KAFKAJS_UNKNOWN_ERROR_CODE', 90)), { kind: 'fencing', type: 'PRODUCER_FENCED' });
    assert.equal(classifyKafkaError(protocolError('KAFKAJS_UNKNOWN_ERROR_CODE', 91)).kind, 'retryable', 'another unknown code');
  });

  test('authorization of a topic, group, transactional id or cluster is fatal — TRANSACTIONAL_ID_AUTHORIZATION_FAILED is not fencing', async () => {
    const cases: [string, number][] = [
      ['TOPIC_AUTHORIZATION_FAILED', 29],
      ['GROUP_AUTHORIZATION_FAILED', 30],
      ['CLUSTER_AUTHORIZATION_FAILED', 31],
      ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53],
    ];
    for (const [type, code] of cases) {
      assert.deepEqual(classifyKafkaError(protocolError(type, code)), { kind: 'fatal', type });
      assert.deepEqual(classifyKafkaError(await afterRetries(protocolError(type, code))), { kind: 'fatal', type }, `${type} wrapped by the retrier`);
    }
  });

  test('SASL authentication, a deleted topic and settings the broker refuses are fatal', async () => {
    assert.equal(classifyKafkaError(kafkajsError('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed')).kind, 'fatal');
    assert.equal(classifyKafkaError(protocolError('SASL_AUTHENTICATION_FAILED', 58)).kind, 'fatal');
    assert.equal(classifyKafkaError(await afterRetries(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3))).kind, 'fatal');
    assert.equal(classifyKafkaError(protocolError('INVALID_TRANSACTION_TIMEOUT', 50)).kind, 'fatal');
    assert.equal(classifyKafkaError(protocolError('INVALID_CONFIG', 40)).kind, 'fatal');
  });

  test('the chain is walked: cause, originalError and an aggregate\'s errors; a fatal cause wins over a fencing one', () => {
    const authz = protocolError('TOPIC_AUTHORIZATION_FAILED', 29);
    assert.equal(classifyKafkaError(new Error('outer', { cause: new Error('middle', { cause: authz }) })).kind, 'fatal');
    assert.equal(classifyKafkaError(Object.assign(new Error('wrapped'), { originalError: authz })).kind, 'fatal');
    assert.equal(classifyKafkaError(kafkajsError('KafkaJSAggregateError', 'several', [new Error('x'), authz])).kind, 'fatal');
    const both = kafkajsError('KafkaJSAggregateError', 'several', [protocolError('INVALID_PRODUCER_EPOCH', 47), authz]);
    assert.equal(classifyKafkaError(both).kind, 'fatal');
    const loop: Error & { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    assert.equal(classifyKafkaError(loop).kind, 'retryable', 'a cycle ends');
  });
});

describe('kafkaFailure', () => {
  test('a refused topic write becomes AUTHORIZATION_FAILED naming the topic and the operation; fatal, not retryable', async () => {
    const err = kafkaFailure(await afterRetries(protocolError('TOPIC_AUTHORIZATION_FAILED', 29)), write, otherwise);
    assert.ok(err instanceof AuthorizationError);
    assert.equal(err.code, ErrorCodes.AUTHORIZATION_FAILED);
    assert.equal(err.retryable, false);
    assert.ok(isFatal(err));
    assert.deepEqual([err.resource, err.operation], [{ type: 'topic', name: '"predictions"' }, 'write']);
    assert.match(err.message, /not authorized to write topic "predictions" \(TOPIC_AUTHORIZATION_FAILED\)/);
  });

  test('group, transactional id and cluster refusals name their resource', () => {
    const group = kafkaFailure(protocolError('GROUP_AUTHORIZATION_FAILED', 30), { operation: 'read', topics: ['inputs'], group: 'scorers' }, otherwise);
    assert.match(group.message, /not authorized to read group "scorers"/);
    const txid = kafkaFailure(protocolError('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53), write, otherwise);
    assert.equal(txid.code, ErrorCodes.AUTHORIZATION_FAILED);
    assert.match(txid.message, /not authorized to write transactional id "scorers-inputs-2"/);
    const cluster = kafkaFailure(protocolError('CLUSTER_AUTHORIZATION_FAILED', 31), { operation: 'write', topics: ['predictions'] }, otherwise);
    assert.match(cluster.message, /not authorized to idempotent write cluster kafka-cluster/);
  });

  test('other fatal classes have their own codes; fencing is PRODUCER_FENCED; the rest keeps the caller\'s code, retryable', async () => {
    assert.equal(kafkaFailure(await afterRetries(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3)), write, otherwise).code, ErrorCodes.TOPIC_NOT_FOUND);
    assert.equal(kafkaFailure(kafkajsError('KafkaJSSASLAuthenticationError', 'bad password'), write, otherwise).code, ErrorCodes.AUTHENTICATION_FAILED);
    assert.equal(kafkaFailure(protocolError('INVALID_TRANSACTION_TIMEOUT', 50), write, otherwise).code, ErrorCodes.KAFKA_CONFIG_REJECTED);
    const fenced = kafkaFailure(protocolError('INVALID_PRODUCER_EPOCH', 47), write, otherwise);
    assert.deepEqual([fenced.code, fenced.retryable, isFatal(fenced)], [ErrorCodes.PRODUCER_FENCED, false, false]);
    const cause = kafkajsError('KafkaJSConnectionError', 'Connection error: ECONNREFUSED');
    const retry = kafkaFailure(cause, write, otherwise);
    assert.deepEqual([retry.code, retry.retryable, isFatal(retry), retry.cause], [ErrorCodes.PRODUCE_FAILED, true, false, cause]);
    assert.match(retry.message, /^writing 3 outcomes failed: /);
  });

  test('an error it already made passes through unchanged', () => {
    const made = kafkaFailure(protocolError('GROUP_AUTHORIZATION_FAILED', 30), write, otherwise);
    assert.equal(kafkaFailure(made, { operation: 'read' }, otherwise), made);
    const retryable = new StreamserveError(ErrorCodes.PRODUCE_FAILED, 'x', { retryable: true });
    assert.equal(kafkaFailure(retryable, write, otherwise).code, ErrorCodes.PRODUCE_FAILED);
  });
});
