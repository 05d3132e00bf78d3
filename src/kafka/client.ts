import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config/settings.js';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import { classifyKafkaError, kafkaFailure, type KafkaCall } from './errors.js';

type KafkaSettings = Pick<Config, 'clientId' | 'ssl' | 'saslMechanism' | 'saslUsername' | 'saslPassword'> & {
  brokers: string[];
};

/**
 * kafkajs logs every retried protocol error (coordinator loading, leader moved) at ERROR; those it recovers from,
 * and what it cannot recover from reaches us as a rejected call or a CRASH event, logged by our own code. So its
 * ERROR is our warn.
 */
const levels: Record<number, 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'warn',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go through our pino logger (kafkajs INFO is chatty: it is logged at debug). */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        // The sink bounds kafkajs' retries on purpose: it retries whole batches itself and must see an outage.
        if (message.startsWith('Limiting retries for the idempotent producer')) return;
        const name = levels[level] ?? 'info';
        log[name === 'info' ? 'debug' : name]({ kafkajs: rest }, message);
      },
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
  };
  if (settings.saslMechanism && settings.saslUsername !== undefined && settings.saslPassword !== undefined) {
    config.sasl = {
      mechanism: settings.saslMechanism,
      username: settings.saslUsername,
      password: settings.saslPassword,
    } as NonNullable<KafkaConfig['sasl']>;
  }
  return new Kafka(config);
}

/** The kafkajs client type, for code outside src/kafka/ that is handed one (tests and the benchmark inject theirs). */
export type KafkaClient = Kafka;

/**
 * The error for a Kafka call that failed while doing `what` (at start-up): the fatal error its cause is
 * (src/kafka/errors.ts: refused for authorization, credentials, a setting), else BROKER_UNAVAILABLE. `call` names
 * what the call used, for the fatal error's message.
 */
export function brokerUnavailable(what: string, cause: unknown, call: KafkaCall = { operation: 'describe' }): StreamserveError {
  if (classifyKafkaError(cause).kind === 'fatal') return kafkaFailure(cause, call, { code: ErrorCodes.BROKER_UNAVAILABLE, message: what });
  return new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `${what}: ${messageOf(cause)}`, { cause });
}
