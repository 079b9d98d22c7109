/**
 * Nacos 2.x config over one long connection (Java 2.2.4's `ClientWorker` and `CacheData`): read,
 * publish (with CAS) and remove configs, and listen to keys. A listened key is kept with its md5;
 * after every (re)connect the client tells the server every key it listens to with that md5 in one
 * batch, so a change made while it was away is read and delivered, and a listener is called once
 * per md5 whatever brought the change.
 */
import type { Logger } from 'pino';
import pino from 'pino';
import {
  ErrorCode,
  response,
  systemTimers,
  type JsonObject,
  type RequestMessage,
  type ResponseMessage,
  type ResponseTypeDefinition,
  type Timers,
} from '../protocol/index.js';
import {
  ABSENT_MD5,
  CONFIG_NOT_FOUND,
  ConfigMessages,
  groupKey,
  md5Hex,
  type ConfigKey,
  type ConfigRequestBodies,
  type ConfigRequestType,
} from '../protocol/config/index.js';
import { DEFAULT_GROUP } from '../protocol/naming/index.js';
import { ConfigCache, type ConfigEntry, type ConfigListener } from './config-cache.js';
import { ConfigSnapshots } from './config-snapshot.js';
import { ConfigRequestError } from './errors.js';
import { RpcClient, type RpcClientOptions } from './rpc-client.js';
import { sdkLabels } from './sdk-labels.js';

/** Options of a {@link ConfigClient}: its {@link RpcClient}'s, and the config ones. */
export interface ConfigClientOptions extends Omit<RpcClientOptions, 'messageTypes'> {
  /** Namespace id (the `tenant` of every key); default `''`, the public namespace. */
  readonly namespace?: string;
  /**
   * A folder for local snapshots: the last content read from the server for each key. When set,
   * `getConfig` answers from it while no server answers, and a listener added after a restart
   * starts from it (it is called only when the server's content differs). Default: none.
   */
  readonly snapshotDir?: string;
  /**
   * Period of the listen check while connected (Java: 5000 ms): keys whose listen or read failed
   * are tried again then. Default 5000.
   */
  readonly syncIntervalMs?: number;
}

/** Optional fields of a publish. */
export interface PublishOptions {
  /** Publish only if the stored md5 is still this one (compare and swap); a key that does not exist is created. */
  readonly casMd5?: string;
  /** The content's type (`text`, `json`, `yaml`, `properties`, ...), stored and returned by reads. */
  readonly type?: string;
  /** The publishing application, stored with the config. */
  readonly appName?: string;
}

/** A read of one key: its content, or undefined when the server has none. */
interface ReadConfig {
  readonly content: string;
  readonly md5: string;
}

/**
 * A Nacos 2.x config client over its own {@link RpcClient} (labels `module=config`, `source=sdk`,
 * `AppName` and `taskId=0`, as Java's).
 *
 * @example
 * ```ts
 * const config = new ConfigClient({ serverAddresses: ['127.0.0.1:8848'], appName: 'orders', snapshotDir: './config-snapshots' });
 * await config.start();
 * await config.publishConfig('orders.yaml', 'DEFAULT_GROUP', 'timeout: 3s', { type: 'yaml' });
 * console.log(await config.getConfig('orders.yaml', 'DEFAULT_GROUP'));
 * await config.addListener('orders.yaml', 'DEFAULT_GROUP', (change) => console.log('now', change.content));
 * await config.shutdown();
 * ```
 */
export class ConfigClient {
  /** The connection the client runs on (status, events, current server). */
  readonly rpcClient: RpcClient;
  private readonly namespace: string;
  private readonly cache: ConfigCache;
  private readonly snapshots: ConfigSnapshots | undefined;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly syncIntervalMs: number;
  /** Entries the server said changed (or pushed), to read again. */
  private readonly stale = new Set<ConfigEntry>();
  private connected = false;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private cancelSyncTimer: (() => void) | undefined;
  private closed = false;

  constructor(options: ConfigClientOptions) {
    const { namespace, snapshotDir, syncIntervalMs, ...rpcOptions } = options;
    this.namespace = namespace ?? '';
    this.syncIntervalMs = syncIntervalMs ?? 5000;
    this.snapshots = snapshotDir === undefined ? undefined : new ConfigSnapshots(snapshotDir);
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? pino({ level: 'warn' });
    this.cache = new ConfigCache((error, key) => this.logger.error({ err: error, key: groupKey(key) }, 'config listener failed'));
    this.rpcClient = new RpcClient({
      tenant: this.namespace,
      ...rpcOptions,
      // Java's config client connects with task id 0 for every key it has under 3000 listened keys.
      labels: { ...sdkLabels('config', options.appName, options.labels), taskId: '0' },
      messageTypes: Object.values(ConfigMessages),
    });
    this.rpcClient.onServerRequest('ConfigChangeNotifyRequest', (push) => {
      if (ConfigMessages.ConfigChangeNotifyRequest.is(push)) this.changedOnServer(push.body);
      return response('ConfigChangeNotifyResponse');
    });
    // Java's onDisConnect (a switch of server emits it before the new connected): nothing listened is known to match a server until it is listened again.
    const onGone = (): void => {
      this.connected = false;
      this.cache.unsyncAll();
    };
    this.rpcClient.on('disconnected', onGone).on('lost', onGone);
    this.rpcClient.on('connected', () => {
      this.connected = true;
      void this.sync();
    });
  }

  /** Connects (see {@link RpcClient.start}) and starts the periodic listen check. */
  async start(): Promise<void> {
    this.scheduleSync();
    await this.rpcClient.start();
  }

  /**
   * The key's content, or undefined when the server has none. With `snapshotDir`, every answer is
   * kept, and when no server answers the last kept content is returned (the error is thrown only
   * when there is none).
   * @throws ConfigRequestError when the server refuses the read
   */
  async getConfig(dataId: string, group: string = DEFAULT_GROUP, timeoutMs?: number): Promise<string | undefined> {
    const key = this.key(dataId, group);
    let read: ReadConfig | undefined;
    try {
      read = await this.read(key, false, timeoutMs);
    } catch (error) {
      const badInput = error instanceof ConfigRequestError && error.errorCode === ErrorCode.INVALID_PARAM;
      const kept = this.snapshots === undefined || badInput ? undefined : await this.readSnapshot(key);
      if (kept === undefined) throw error;
      this.logger.warn({ err: error, key: groupKey(key) }, 'config read failed: answering from the local snapshot');
      return kept;
    }
    await this.writeSnapshot(key, read?.content);
    return read?.content;
  }

  /**
   * Stores the content under the key; listeners everywhere are told.
   * @throws ConfigRequestError when the server refuses it (bad names or content, a CAS mismatch)
   */
  async publishConfig(dataId: string, group: string, content: string, options: PublishOptions = {}): Promise<void> {
    const additionMap: Record<string, string> = {};
    if (options.type !== undefined) additionMap['type'] = options.type;
    if (options.appName !== undefined) additionMap['appName'] = options.appName;
    const body = { ...this.key(dataId, group), content, additionMap, ...(options.casMd5 === undefined ? {} : { casMd5: options.casMd5 }) };
    await this.request('ConfigPublishRequest', body, ConfigMessages.ConfigPublishResponse);
  }

  /**
   * Removes the key (a key that does not exist is removed already).
   * @throws ConfigRequestError when the server refuses it
   */
  async removeConfig(dataId: string, group: string = DEFAULT_GROUP): Promise<void> {
    await this.request('ConfigRemoveRequest', this.key(dataId, group), ConfigMessages.ConfigRemoveResponse);
  }

  /**
   * Calls `listener` with the key's content each time it changes, once per content (md5). A key
   * new to this client starts from its snapshot (with `snapshotDir`) or from no content, so the
   * listener is called at once with the server's content when that differs. Resolves once the
   * server knows of the key (at once while disconnected: the key is listened on connect).
   */
  async addListener(dataId: string, group: string, listener: ConfigListener): Promise<void> {
    const key = this.key(dataId, group);
    const initial = this.cache.get(key) === undefined ? await this.readSnapshot(key) : undefined;
    this.cache.addListener(key, listener, initial);
    await this.sync();
  }

  /** Removes a listener; with the key's last one the server stops notifying this client of it. */
  async removeListener(dataId: string, group: string, listener: ConfigListener): Promise<void> {
    const key = this.key(dataId, group);
    const entry = this.cache.get(key);
    if (entry === undefined || !this.cache.removeListener(key, listener)) return;
    this.stale.delete(entry);
    if (!this.connected) return;
    try {
      await this.request('ConfigBatchListenRequest', { listen: false, configListenContexts: [{ ...key, md5: entry.md5 }] }, ConfigMessages.ConfigChangeBatchListenResponse);
    } catch (error) {
      // The server forgets the key with the connection; until then a push for it is ignored.
      this.logger.warn({ err: error, key: groupKey(key) }, 'config unlisten failed');
    }
  }

  /** Stops listening and closes the connection. */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.cancelSyncTimer?.();
    this.cache.clear();
    this.stale.clear();
    await this.rpcClient.shutdown();
  }

  private key(dataId: string, group: string): ConfigKey {
    return { dataId, group, tenant: this.namespace };
  }

  /** A push: the key changed on the server. */
  private changedOnServer(key: ConfigKey): void {
    const entry = this.cache.get(key);
    if (entry === undefined) return;
    this.stale.add(entry);
    void this.sync();
  }

  /** One sync pass at a time; a request for one while a pass runs runs another after it. */
  private sync(): Promise<void> {
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.syncPass();
      } while (this.syncAgain && !this.closed);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /**
   * Java's `executeConfigListen`: listens in one batch to every key not known to match the
   * server, with the md5 held, then reads again each key the server said differs or pushed.
   */
  private async syncPass(): Promise<void> {
    if (!this.connected || this.closed) return;
    const generation = this.rpcClient.connectionGeneration;
    const unsynced = [...this.cache.all()].filter((entry) => !entry.synced);
    if (unsynced.length > 0) {
      try {
        const configListenContexts = unsynced.map((entry) => ({ ...entry.key, md5: entry.md5 }));
        const reply = await this.request('ConfigBatchListenRequest', { listen: true, configListenContexts }, ConfigMessages.ConfigChangeBatchListenResponse);
        if (generation !== this.rpcClient.connectionGeneration) return;
        const changed = new Set(reply.body.changedConfigs.map((key) => groupKey(key)));
        for (const entry of unsynced) {
          entry.synced = true;
          if (changed.has(groupKey(entry.key))) this.stale.add(entry);
        }
      } catch (error) {
        this.logger.warn({ err: error, keys: unsynced.length }, 'config listen failed; tried again on the next check');
        return;
      }
    }
    for (const entry of [...this.stale]) {
      this.stale.delete(entry);
      try {
        const read = await this.read(entry.key, true);
        // A key unlistened meanwhile is not delivered.
        if (this.cache.get(entry.key) !== entry) continue;
        await this.writeSnapshot(entry.key, read?.content);
        this.cache.apply(entry, read?.content, read?.md5 ?? ABSENT_MD5);
      } catch (error) {
        this.stale.add(entry);
        this.logger.warn({ err: error, key: groupKey(entry.key) }, 'config read after a change failed; tried again on the next check');
      }
    }
  }

  /** Reads a key; `notify` says it follows a change (Java's `notify` header). */
  private async read(key: ConfigKey, notify: boolean, timeoutMs?: number): Promise<ReadConfig | undefined> {
    const message: RequestMessage = { kind: 'request', type: 'ConfigQueryRequest', headers: { notify: String(notify) }, body: { ...key } };
    const reply = await this.rpcClient.request(message, { expect: ConfigMessages.ConfigQueryResponse, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    if (reply.resultCode !== 200 && reply.errorCode === CONFIG_NOT_FOUND) return undefined;
    checkSuccess('ConfigQueryRequest', reply);
    // The md5 is the content's own: a listener's md5 never depends on what a server chose to send.
    return { content: reply.body.content, md5: md5Hex(reply.body.content) };
  }

  private async request<T extends ConfigRequestType, R extends string, B extends object>(
    type: T,
    body: ConfigRequestBodies[T],
    expect: ResponseTypeDefinition<R, B>,
  ): Promise<ResponseMessage<R, B>> {
    // Messages carry their bodies as plain JSON objects; the typed body is one.
    const message: RequestMessage = { kind: 'request', type, headers: {}, body: body as unknown as JsonObject };
    return checkSuccess(type, await this.rpcClient.request(message, { expect }));
  }

  private async readSnapshot(key: ConfigKey): Promise<string | undefined> {
    if (this.snapshots === undefined) return undefined;
    try {
      return await this.snapshots.read(key);
    } catch (error) {
      this.logger.warn({ err: error, key: groupKey(key) }, 'config snapshot unreadable');
      return undefined;
    }
  }

  /** A snapshot that cannot be written is logged: the read itself succeeded. */
  private async writeSnapshot(key: ConfigKey, content: string | undefined): Promise<void> {
    try {
      await this.snapshots?.write(key, content);
    } catch (error) {
      this.logger.warn({ err: error, key: groupKey(key) }, 'config snapshot not written');
    }
  }

  private scheduleSync(): void {
    if (this.closed || this.cancelSyncTimer !== undefined) return;
    this.cancelSyncTimer = this.timers.setTimeout(() => {
      this.cancelSyncTimer = undefined;
      void this.sync().finally(() => this.scheduleSync());
    }, this.syncIntervalMs);
  }
}

/** Config answers failures as their own type with resultCode 500. @throws ConfigRequestError */
function checkSuccess<R extends string, B extends object>(requestType: string, reply: ResponseMessage<R, B>): ResponseMessage<R, B> {
  if (reply.resultCode !== 200) throw new ConfigRequestError(requestType, reply.errorCode, reply.message ?? 'no message');
  return reply;
}
