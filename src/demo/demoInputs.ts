import type { AvroType } from '../codec/schema.js';
import type { InputMessage } from '../kafka/inputProducer.js';
import { sampleBoreholeInputs, type BoreholeInput } from '../model/borehole.js';
import { POISON_KINDS, type PoisonKind } from './poison.js';

export interface DemoInputs {
  messages: InputMessage[];
  /** Valid inputs by id, to compare predictions with the borehole function. */
  valid: Map<string, BoreholeInput>;
  /** Poison by id, with the dead letter each must become. */
  poison: Map<string, PoisonKind>;
}

/**
 * `count` inputs with ids `${prefix}-${i}`; every `poisonEvery`-th is poison, cycling through every kind.
 * Deterministic for a seed. Keys are the ids.
 */
export function demoInputs(type: AvroType, count: number, options: { seed: number; poisonEvery: number; prefix: string }): DemoInputs {
  const samples = sampleBoreholeInputs(count, options.seed);
  const messages: InputMessage[] = [];
  const valid = new Map<string, BoreholeInput>();
  const poison = new Map<string, PoisonKind>();
  let kind = 0;
  for (let i = 0; i < count; i++) {
    const id = `${options.prefix}-${i}`;
    const good = samples[i]!;
    if (options.poisonEvery > 0 && i % options.poisonEvery === options.poisonEvery - 1) {
      const p = POISON_KINDS[kind++ % POISON_KINDS.length]!;
      poison.set(id, p);
      messages.push({ key: id, value: p.value(type, id, good), headers: { 'demo.kind': p.name } });
    } else {
      valid.set(id, good);
      messages.push({ key: id, value: type.toBuffer({ id, event_time: Date.now(), ...good }) });
    }
  }
  return { messages, valid, poison };
}
