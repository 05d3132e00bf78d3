/**
 * A map that holds at most `capacity` entries and forgets the least recently used one past that. Entries may be
 * promises, so concurrent callers of `getOrLoad` share one load per key.
 */
export class BoundedCache<K, V> {
  readonly #capacity: number;
  readonly #entries = new Map<K, V>();

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined && this.#entries.size > 1) {
      // most recently used last: Map iterates in insertion order
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  delete(key: K, only?: V): void {
    if (only === undefined || this.#entries.get(key) === only) this.#entries.delete(key);
  }
}
