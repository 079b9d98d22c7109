import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ListenContext } from './listen-context.js';
import type { NotifyObserver } from './notifier.js';
import type { ConfigStore } from './store/types.js';

/**
 * Config's Prometheus metrics in the node's registry: stored keys, listened keys, listening
 * connections, notifications by outcome and their latency from the change.
 */
export function registerConfigMetrics(registry: Registry, store: ConfigStore, context: ListenContext): NotifyObserver {
  const registers = [registry];
  new Gauge({
    name: 'nacos_remote_config_keys',
    help: 'Configs stored',
    registers,
    async collect() {
      // A store that cannot answer must not fail the whole scrape.
      const count = await store.count().catch(() => undefined);
      if (count !== undefined) this.set(count);
    },
  });
  new Gauge({
    name: 'nacos_remote_config_listened_keys',
    help: 'Config keys with at least one listening connection',
    registers,
    collect() {
      this.set(context.keyCount);
    },
  });
  new Gauge({
    name: 'nacos_remote_config_listeners',
    help: 'Connections listening to at least one config key',
    registers,
    collect() {
      this.set(context.connectionCount);
    },
  });
  const notifies = new Counter({
    name: 'nacos_remote_config_notifies_total',
    help: 'ConfigChangeNotifyRequest pushes settled: acked, failed (retried), dropped (connection unregistered after the last try)',
    labelNames: ['outcome'],
    registers,
  });
  const latency = new Histogram({
    name: 'nacos_remote_config_notify_seconds',
    help: 'From a config change to its notification acknowledged by a listener',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers,
  });
  const children = { acked: notifies.labels({ outcome: 'acked' }), failed: notifies.labels({ outcome: 'failed' }), dropped: notifies.labels({ outcome: 'dropped' }) };
  return (outcome, elapsedMs) => {
    children[outcome].inc();
    if (outcome === 'acked') latency.observe(elapsedMs / 1000);
  };
}
