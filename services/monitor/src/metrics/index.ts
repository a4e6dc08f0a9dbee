import type { MonitorRuntime } from '../deps.ts';
import { MetricsIngester } from './ingester.ts';
import { registerMetricsQueries } from './queries.ts';
import { MetricsRollupJob } from './rollup-job.ts';

export { METRICS_TABLES, type MetricsTables } from './schema.ts';

/**
 * Metrics: the ingester (every replica, queue group `monitor`), the roll-up and retention job (one replica, by
 * advisory lock) and the series queries. Stopped with the service: the ingester writes what it holds first.
 */
export function startMetrics(runtime: MonitorRuntime): void {
  const { nc, sql, clock, logger, locks } = runtime;
  const ingester = new MetricsIngester({ nc, sql, clock, logger });
  const rollup = new MetricsRollupJob({ sql, locks, clock, logger });
  registerMetricsQueries(runtime);
  runtime.onStop(async () => {
    await ingester.stop();
    await rollup.stop();
  });
  ingester.start();
  rollup.start();
}
