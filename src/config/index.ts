/**
 * Config on the connection layer: a node's ConfigService over gRPC (docs/config.md). Wired onto a
 * node by {@link attachConfig}; the HTTP open API reaches it through {@link ConfigModule.service}.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Timers } from '../protocol/index.js';
import { UnregisterReason } from '../server/connection-manager.js';
import type { NacosServer } from '../server/nacos-server.js';
import { configBatchListenHandler } from './handlers/batch-listen.js';
import { configPublishHandler } from './handlers/publish.js';
import { configQueryHandler } from './handlers/query.js';
import { configRemoveHandler } from './handlers/remove.js';
import { CONFIG_MODULE, ConfigTypes } from '../protocol/config/index.js';
import { ListenContext } from './listen-context.js';
import { registerConfigMetrics } from './metrics.js';
import { ConfigNotifier, type NotifyOptions } from './notifier.js';
import { ConfigService } from './service.js';
import { ConfigStoreError } from './errors.js';
import { SqliteConfigStore } from './store/sqlite.js';
import type { ConfigStore } from './store/types.js';
import { UnavailableConfigStore } from './store/unavailable.js';

export { ConfigService, type KeyParams, type ListenParams, type PublishParams } from './service.js';
export { SqliteConfigStore } from './store/sqlite.js';
export { UnavailableConfigStore } from './store/unavailable.js';
export type { ConfigStore, ConfigRecord, HistoryEntry, HistorySummary } from './store/types.js';
export { DEFAULT_NOTIFY_OPTIONS, type NotifyOptions } from './notifier.js';

export interface ConfigModuleOptions {
  readonly server: NacosServer;
  readonly store: ConfigStore;
  readonly timers: Timers;
  readonly logger: Logger;
  /** Largest content in UTF-8 bytes. */
  readonly maxContentBytes: number;
  readonly notify: NotifyOptions;
  /** Whether the node runs alone; in a cluster every config call says it needs a shared store. */
  readonly standalone: () => boolean;
  /** The node's Prometheus registry, for config's metrics. */
  readonly metricsRegistry?: Registry;
}

/** Config attached to a node. */
export interface ConfigModule {
  readonly service: ConfigService;
  /** Stops notifications, detaches from the server and closes the store. */
  close(): Promise<void>;
}

/**
 * Opens the embedded SQLite store; when it cannot be opened, logs why and returns a store whose
 * every call fails with that reason, so the node still serves everything else.
 */
export function openEmbeddedStore(file: string, logger: Logger): ConfigStore {
  try {
    return new SqliteConfigStore(file);
  } catch (error) {
    const reason = error instanceof ConfigStoreError ? error : new ConfigStoreError(String(error), { cause: error });
    logger.error({ err: reason }, 'config store unavailable: config requests will fail until the node restarts with a working store');
    return new UnavailableConfigStore(reason);
  }
}

/**
 * Registers config's four request handlers (module "config") and its push type on the server,
 * clears a connection's listen context the moment it closes, and notifies with retries.
 */
export function attachConfig(options: ConfigModuleOptions): ConfigModule {
  const { server, store, logger } = options;
  const context = new ListenContext();
  const observe = options.metricsRegistry === undefined ? undefined : registerConfigMetrics(options.metricsRegistry, store, context);
  const notifier = new ConfigNotifier(
    context,
    {
      push: (connectionId, request, timeoutMs) => server.push(connectionId, request, timeoutMs),
      isConnected: (connectionId) => server.manager.get(connectionId)?.connected === true,
      drop: (connectionId) => {
        logger.warn({ connectionId }, 'config notify not acknowledged after the last retry: unregistering the connection');
        server.manager.unregister(connectionId, UnregisterReason.EJECTED);
      },
    },
    options.timers,
    options.notify,
    observe,
  );
  const service = new ConfigService(store, context, notifier, options.timers, {
    maxContentBytes: options.maxContentBytes,
    standalone: options.standalone,
  });

  server.registry.defineRequest(ConfigTypes.CHANGE_NOTIFY, { module: CONFIG_MODULE });
  server.defineResponseType(ConfigTypes.CHANGE_NOTIFY_RESPONSE);
  const module = { module: CONFIG_MODULE };
  server.registerHandler(ConfigTypes.QUERY, configQueryHandler(service), module);
  server.registerHandler(ConfigTypes.PUBLISH, configPublishHandler(service), module);
  server.registerHandler(ConfigTypes.REMOVE, configRemoveHandler(service), module);
  server.registerHandler(ConfigTypes.BATCH_LISTEN, configBatchListenHandler(service), module);
  const removeListener = server.addConnectionListener({
    name: 'config',
    onDisconnected: (connection) => service.connectionClosed(connection.id),
  });

  return {
    service,
    async close() {
      removeListener();
      await service.close();
    },
  };
}
