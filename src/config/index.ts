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
import { CONFIG_MODULE, ConfigMessages, ConfigTypes } from '../protocol/config/index.js';
import { ListenContext } from './listen-context.js';
import { registerConfigMetrics } from './metrics.js';
import { ConfigNotifier, type NotifyOptions } from './notifier.js';
import { ConfigService } from './service.js';
import { ConfigStoreError } from './errors.js';
import type { MysqlStoreOptions } from './store/mysql.js';
import type { ConfigStore } from './store/types.js';
import { CachedConfigStore, type CopyReadOptions, type OutageProbeOptions } from './store/cached.js';
import { ConfigSync, configSyncHandler, type ConfigSyncOptions } from './sync/config-sync.js';
import { CONFIG_SYNC_MODULE, CONFIG_SYNC_TYPES, ConfigChangeClusterSyncRequest } from './sync/messages.js';
import type { MemberPeers } from '../cluster/member-messages.js';
import { UnavailableConfigStore } from './store/unavailable.js';

export { ConfigService, type KeyParams, type ListenParams, type PublishParams } from './service.js';
export { UnavailableConfigStore } from './store/unavailable.js';
export { NOT_AT_HAND, type ConfigStore, type ConfigRecord, type HistoryEntry, type HistorySummary } from './store/types.js';
export type { MysqlStoreOptions } from './store/mysql.js';
export { DEFAULT_NOTIFY_OPTIONS, type NotifyOptions } from './notifier.js';
export type { ConfigSyncOptions } from './sync/config-sync.js';
export type { CopyReadOptions, OutageProbeOptions } from './store/cached.js';

export interface ConfigModuleOptions {
  readonly server: NacosServer;
  readonly store: ConfigStore;
  readonly timers: Timers;
  readonly logger: Logger;
  /** Largest content in UTF-8 bytes. */
  readonly maxContentBytes: number;
  /** The server's largest gRPC message: a config must fit in its query answer. */
  readonly maxMessageBytes: number;
  readonly notify: NotifyOptions;
  /** Whether the node serves config: alone, or in a cluster on a shared database; if not, every config call says it needs one. */
  readonly serving: () => boolean;
  /** Accept 4-byte UTF-8 characters in what is stored (docs/config.md#four-byte-characters). */
  readonly allowFourByteUtf8: boolean;
  /** The node's Prometheus registry, for config's metrics. */
  readonly metricsRegistry?: Registry;
  /**
   * On a shared database: the other members, to announce changes to and hear theirs, and the
   * catch-up from the history table. The store is then read through a copy that answers reads
   * while the database is away.
   */
  readonly shared?: { readonly peers: MemberPeers; readonly sync: ConfigSyncOptions; readonly probe: OutageProbeOptions; readonly reads?: CopyReadOptions };
}

/** Config attached to a node. */
export interface ConfigModule {
  readonly service: ConfigService;
  /** Stops notifications, detaches from the server and closes the store. */
  close(): Promise<void>;
}

/** Loads the embedded store's class: better-sqlite3 is an optional dependency, imported only here. */
export type EmbeddedStoreLoader = () => Promise<{ readonly SqliteConfigStore: new (file: string, options: { readonly holdInMemory: boolean }) => ConfigStore }>;

const loadSqliteStore: EmbeddedStoreLoader = () => import('./store/sqlite.js');

/**
 * The embedded SQLite store at `file`, or, when better-sqlite3 is not installed (it is optional,
 * so a client-only install need not compile it) or the file cannot be opened, a store that fails
 * every call with the reason, logged once here: the node still starts and serves the rest.
 */
export async function openEmbeddedStore(file: string, logger: Logger, load: EmbeddedStoreLoader = loadSqliteStore): Promise<ConfigStore> {
  let Store: new (file: string, options: { readonly holdInMemory: boolean }) => ConfigStore;
  try {
    Store = (await load()).SqliteConfigStore;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const reason = new ConfigStoreError(
      `the embedded config store needs the optional dependency better-sqlite3, which could not be loaded (${detail}): install it (npm install better-sqlite3) and restart`,
      { cause: error },
    );
    return unavailable(reason, logger);
  }
  try {
    // The file is this node's alone: reads are answered from memory after the first.
    return new Store(file, { holdInMemory: true });
  } catch (error) {
    return unavailable(error instanceof ConfigStoreError ? error : new ConfigStoreError(String(error), { cause: error }), logger);
  }
}

/**
 * The shared MySQL/MariaDB store. It opens no connection here: a database that is down at start
 * fails config calls with a clear error until it is back, and the node serves the rest meanwhile.
 */
export async function openSharedStore(options: MysqlStoreOptions, logger: Logger): Promise<ConfigStore> {
  const { MysqlConfigStore } = await import('./store/mysql.js');
  const store = new MysqlConfigStore(options);
  // A database away at start must not stop the node (reads come from members' copies once it
  // returns); the tables are then created at the first call that reaches it.
  await store.createSchemaIfAsked().catch((error: unknown) => logger.warn({ err: error }, 'config tables not created at start (db.init): trying again at first use'));
  return store;
}

function unavailable(reason: ConfigStoreError, logger: Logger): ConfigStore {
  logger.error({ err: reason }, 'config store unavailable: config requests will fail until the node restarts with a working store');
  return new UnavailableConfigStore(reason);
}

/**
 * Registers config's four request handlers (module "config") and its push type on the server,
 * clears a connection's listen context the moment it closes, and notifies with retries.
 */
export function attachConfig(options: ConfigModuleOptions): ConfigModule {
  const { server, logger, shared } = options;
  const cached = shared === undefined ? undefined : new CachedConfigStore(options.store, options.timers, shared.probe, shared.reads);
  const store = cached ?? options.store;
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
  const sync = cached === undefined || shared === undefined ? undefined : new ConfigSync(cached, (key) => notifier.changed(key), shared.peers, options.timers, shared.sync, logger.child({ part: 'sync' }));
  const service = new ConfigService(store, context, notifier, options.timers, {
    maxContentBytes: options.maxContentBytes,
    maxMessageBytes: options.maxMessageBytes,
    isConnected: (connectionId) => server.manager.get(connectionId)?.connected === true,
    serving: options.serving,
    allowFourByteUtf8: options.allowFourByteUtf8,
    announce: sync === undefined ? undefined : (key, time) => sync.announce(key, time),
    logger,
  });

  server.registry.defineRequest(ConfigTypes.CHANGE_NOTIFY, { module: CONFIG_MODULE });
  server.defineResponseType(ConfigTypes.CHANGE_NOTIFY_RESPONSE);
  const module = { module: CONFIG_MODULE };
  server.defineMessageTypes(ConfigMessages.ConfigQueryRequest);
  server.registerHandler(ConfigTypes.QUERY, configQueryHandler(service), module);
  server.registerHandler(ConfigTypes.PUBLISH, configPublishHandler(service), module);
  server.registerHandler(ConfigTypes.REMOVE, configRemoveHandler(service), module);
  server.registerHandler(ConfigTypes.BATCH_LISTEN, configBatchListenHandler(service), module);
  if (sync !== undefined) {
    server.defineMessageTypes(...CONFIG_SYNC_TYPES);
    server.registerHandler(ConfigChangeClusterSyncRequest.type, configSyncHandler(sync), { module: CONFIG_SYNC_MODULE });
    sync.start();
  }
  const removeListener = server.addConnectionListener({
    name: 'config',
    onDisconnected: (connection) => service.connectionClosed(connection.id),
  });

  return {
    service,
    async close() {
      removeListener();
      await sync?.close();
      await service.close();
    },
  };
}
