import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ShedReason } from './requestQueue.js';

/** The inference port's metrics, on the app's registry (names are part of the operating contract: README). */
export class HttpMetrics {
  readonly #requests: Counter<'route' | 'status'>;
  readonly #seconds: Histogram<'route'>;
  readonly #shed: Counter<'reason'>;

  constructor(registry: Registry, waiting: () => number) {
    const registers = [registry];
    this.#requests = new Counter({ name: 'streamserve_http_requests_total', help: 'Inference requests answered, by route and status', labelNames: ['route', 'status'], registers });
    this.#seconds = new Histogram({
      name: 'streamserve_http_request_seconds',
      help: 'Inference request latency, by route',
      labelNames: ['route'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#shed = new Counter({
      name: 'streamserve_http_shed_total',
      help: 'Inference requests not scored: overloaded (429), deadline (504), cancelled (caller left), unavailable and shutting_down (503)',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'streamserve_http_queued_rows',
      help: 'HTTP rows admitted and waiting for their answer (HTTP_MAX_QUEUE bounds it)',
      registers,
      collect() {
        this.set(waiting());
      },
    });
  }

  request(route: string, status: number, seconds: number): void {
    this.#requests.inc({ route, status: String(status) });
    this.#seconds.observe({ route }, seconds);
  }

  shed(reason: ShedReason): void {
    this.#shed.inc({ reason });
  }
}
