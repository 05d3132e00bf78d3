import { createKafka } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { requireSettings } from '../config/load.js';
import { commandContext, intFlag } from './context.js';

/** `streamserve topics [--partitions N]`: creates the input, output and dead-letter topics that are missing. */
export async function topicsCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, { partitions: { type: 'string' } });
  requireSettings(config, ['brokers'], 'topics');
  const partitions = intFlag(flags, 'partitions', 3, 1);
  const created = await ensureTopics(
    createKafka({ ...config, brokers: config.brokers! }, logger),
    [config.inputTopic, config.outputTopic, config.dlqTopic].map((topic) => ({ topic, partitions })),
  );
  process.stderr.write(created.length ? `created ${created.join(', ')}\n` : 'all topics exist\n');
  return 0;
}
