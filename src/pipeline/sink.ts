import type { OutboundMessage } from './record.js';

/**
 * Where outcomes are written. `send` resolves only when the broker has acknowledged every message and
 * rejects otherwise; after a rejection the caller assumes none were written and sends them all again.
 * Messages of one partition are written in the order given.
 */
export interface Sink {
  send(messages: OutboundMessage[]): Promise<void>;
}
