import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Timers } from '../protocol/index.js';
import { CasMismatchError, ConfigNotSupportedError, ConfigStoreError, ConfigStoreUnavailableError, InvalidConfigParamError, SharedStoreRequiredError } from './errors.js';
import { ABSENT_MD5, groupKey, type ConfigKey } from '../protocol/config/index.js';
import { checkAdvanceInfo, checkContent, checkKey, checkStorable, checkThreeByteUtf8, storedNamespace, type ConfigAdvanceInfo } from './keys.js';
import type { ListenContext } from './listen-context.js';
import type { ConfigNotifier } from './notifier.js';
import { NOT_AT_HAND, type ChangeSource, type ConfigRecord, type ConfigStore, type HistoryEntry, type HistorySummary, type Page } from './store/types.js';

/** What a caller names a key by, unchecked (wire or HTTP). */
export interface KeyParams {
  readonly dataId?: string | undefined;
  readonly group?: string | undefined;
  readonly tenant?: string | undefined;
  /** Tag configs are not supported: a non-blank tag is refused. */
  readonly tag?: string | undefined;
}

/** A publish as a caller sends it, unchecked. */
export interface PublishParams extends KeyParams, ConfigAdvanceInfo, ChangeSource {
  readonly content?: string | undefined;
  readonly casMd5?: string | undefined;
  readonly appName?: string | undefined;
  readonly encryptedDataKey?: string | undefined;
  /** Beta configs are not supported: non-blank betaIps are refused. */
  readonly betaIps?: string | undefined;
}

/** One key a connection listens to and the md5 it holds. */
export interface ListenParams extends KeyParams {
  readonly md5?: string | undefined;
}

export interface ConfigServiceOptions {
  /** Largest content in UTF-8 bytes; default 10 MiB. */
  readonly maxContentBytes: number;
  /** Largest gRPC message: a stored config must fit in a ConfigQueryResponse of this size. */
  readonly maxMessageBytes: number;
  /** Whether a connection is still registered (a listen that outlives it is dropped). */
  readonly isConnected: (connectionId: string) => boolean;
  /** Whether this node serves config: alone, or in a cluster on a database the members share. */
  readonly serving: () => boolean;
  /** Accept 4-byte UTF-8 characters (the tables must be utf8mb4); refused by default, as Nacos's utf8 schema. */
  readonly allowFourByteUtf8: boolean;
  /** Tells the other members of a change made here (a cluster on a shared database). */
  readonly announce?: (key: ConfigKey, time: number) => void;
  /** Where a store failure's detail is logged; callers get a reference to it. */
  readonly logger: Logger;
}

function isNonBlank(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** Room in a ConfigQueryResponse for all but content and encryptedDataKey: key, md5, type, Payload metadata. */
const QUERY_RESPONSE_ENVELOPE_BYTES = 8 * 1024;
/** Keys of one batch listen checked with the database when their md5 differs from the member copy's. */
export const MAX_CONFIRMS_PER_LISTEN = 64;

/**
 * Refuses a config whose query answer would be larger than a gRPC message: the body is JSON, where
 * escaping can make content up to six times its UTF-8 size, and a config no client can read back
 * must not be stored. Counted only when the worst case could exceed the cap.
 */
function checkQueryable(content: string, encryptedDataKey: string | undefined, maxMessageBytes: number): void {
  const room = maxMessageBytes - QUERY_RESPONSE_ENVELOPE_BYTES;
  const extra = encryptedDataKey ?? '';
  if ((content.length + extra.length) * 6 <= room) return;
  const encoded = Buffer.byteLength(JSON.stringify(content), 'utf8') + Buffer.byteLength(JSON.stringify(extra), 'utf8');
  if (encoded > room) {
    throw new InvalidConfigParamError(
      `invalid content, ${encoded} bytes once encoded for a gRPC answer, over the ${room} that fit in maxMessageBytes (${maxMessageBytes}): clients could not read it back`,
    );
  }
}

/**
 * Config as one API for the gRPC handlers and the HTTP routes: checks input as Nacos, writes
 * through the store, keeps listen contexts and tells the notifier about changes.
 */
export class ConfigService {
  constructor(
    readonly store: ConfigStore,
    readonly context: ListenContext,
    private readonly notifier: ConfigNotifier,
    private readonly timers: Timers,
    private readonly options: ConfigServiceOptions,
  ) {}

  /**
   * The stored config, or undefined. Synchronous when the store has the key at hand (a copy
   * known current, or the embedded store): a promise per query costs a measurable share of it.
   */
  query(params: KeyParams): ConfigRecord | undefined | Promise<ConfigRecord | undefined> {
    return this.read(this.checkedKey(params));
  }

  /** From the store's copy when at hand, else from the database. */
  private read(key: ConfigKey): ConfigRecord | undefined | Promise<ConfigRecord | undefined> {
    const now = this.atHand(key);
    return now === NOT_AT_HAND ? this.stored(() => this.store.get(key)) : now;
  }

  /** The key from the store's copy, or NOT_AT_HAND when the store must be asked. */
  private atHand(key: ConfigKey): ConfigRecord | undefined | typeof NOT_AT_HAND {
    try {
      return this.store.readNow === undefined ? NOT_AT_HAND : this.store.readNow(key);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * Stores a config (CAS when casMd5 is given), then notifies listeners if the content changed.
   * @throws InvalidConfigParamError, CasMismatchError, ConfigNotSupportedError, SharedStoreRequiredError
   */
  async publish(params: PublishParams): Promise<ConfigRecord> {
    const key = checkStorable(this.checkedKey(params));
    if (isNonBlank(params.betaIps)) throw new ConfigNotSupportedError('beta');
    const content = checkContent(params.content, this.options.maxContentBytes);
    checkQueryable(content, params.encryptedDataKey, this.options.maxMessageBytes);
    const advance = checkAdvanceInfo({ desc: params.desc, use: params.use, effect: params.effect, type: params.type, schema: params.schema });
    if (!this.options.allowFourByteUtf8) {
      checkThreeByteUtf8({ ...advance, dataId: key.dataId, group: key.group, tenant: key.tenant, content, appName: params.appName, srcUser: params.srcUser, encryptedDataKey: params.encryptedDataKey });
    }
    const result = await this.stored(() =>
      this.store.publish({
        ...advance,
        key,
        content,
        appName: params.appName,
        encryptedDataKey: params.encryptedDataKey,
        srcIp: params.srcIp,
        srcUser: params.srcUser,
        casMd5: isNonBlank(params.casMd5) ? params.casMd5 : undefined,
        time: this.timers.now(),
      }),
    );
    if (!result.ok) throw new CasMismatchError();
    // As Nacos's dump: the same content again is kept in history but tells no listener.
    // Named as stored: MySQL may have matched the row under another spelling (trailing spaces).
    const { dataId, group, tenant } = result.record;
    if (result.contentChanged) this.changed({ dataId, group, tenant }, result.record.modifiedAt);
    return result.record;
  }

  /** Removes a config (nothing there is no error), then notifies listeners if it was there. */
  async remove(params: KeyParams & ChangeSource): Promise<boolean> {
    const key = this.checkedKey(params);
    const removed = await this.stored(() => this.store.remove(key, { srcIp: params.srcIp, srcUser: params.srcUser, time: this.timers.now() }));
    if (removed === undefined) return false;
    this.changed({ dataId: removed.dataId, group: removed.group, tenant: removed.tenant }, this.timers.now());
    return true;
  }

  /** A change made here: this member's listeners and the other members are told. */
  private changed(key: ConfigKey, time: number): void {
    this.notifier.changed(key);
    this.options.announce?.(key, time);
  }

  /**
   * Adds (listen) or drops a connection's keys. For a listen, returns the keys whose stored md5
   * differs from the one the client holds (`""` when absent).
   */
  async listen(connectionId: string, keys: readonly ListenParams[], listen: boolean): Promise<ConfigKey[]> {
    // Names are not checked as on a write (Nacos does not either): a client may listen to any
    // key whose dataId and group are not blank. A blank one fails the whole batch before anything
    // is recorded, as Nacos's group key fails on it.
    const checked = keys.map((params) => {
      const key = this.listenedKey(params);
      const spelled = params.tenant ?? '';
      return { key, md5: params.md5 ?? ABSENT_MD5, spelled: spelled === key.tenant ? undefined : spelled };
    });
    if (!listen) {
      for (const { key } of checked) this.context.unlisten(connectionId, groupKey(key));
      return [];
    }
    // Every listen is recorded before the first read, so a publish during the reads notifies.
    for (const { key, md5, spelled } of checked) this.context.listen(connectionId, groupKey(key), md5, spelled);
    const stored = await this.storedMd5s(checked);
    // The connection may have closed during the reads, its context cleared already: what was
    // recorded for it here would then stay for good.
    if (!this.options.isConnected(connectionId)) {
      this.context.clearConnection(connectionId);
      return [];
    }
    // Named back as the client named them (Nacos echoes the listen context's tenant).
    return checked
      .filter(({ md5 }, index) => stored[index] !== md5)
      .map(({ key, spelled }) => (spelled === undefined ? key : { ...key, tenant: spelled }));
  }

  /**
   * Each key's stored md5 (`""` when absent), for a batch listen: from the store's copy where at
   * hand, the rest in one wait (a failure is one error and one log line, not one per key). A key
   * whose copy differs from the md5 its listener holds is confirmed with the database: a client
   * moved here may have read a change this member has not applied yet, and told "changed" it
   * would read the older content here (its listener fired backwards).
   */
  private async storedMd5s(keys: readonly { readonly key: ConfigKey; readonly md5: string }[]): Promise<string[]> {
    const { store } = this;
    const md5s: string[] = [];
    // Only keys not at hand, and differing ones to confirm, wait: the usual listen waits for none.
    const waits: (() => Promise<void>)[] = [];
    // The client picks the keys and md5s: the database is asked for a bounded number of them per
    // batch (a real client's differing keys are the few changed lately), the rest answered from the copy.
    let confirms = 0;
    keys.forEach(({ key, md5 }, index) => {
      const found = this.atHand(key);
      md5s.push(found === NOT_AT_HAND ? ABSENT_MD5 : (found?.md5 ?? ABSENT_MD5));
      if (found === NOT_AT_HAND) {
        waits.push(async () => {
          md5s[index] = (await store.get(key))?.md5 ?? ABSENT_MD5;
        });
      } else if (md5s[index] !== md5 && store.confirm !== undefined && confirms++ < MAX_CONFIRMS_PER_LISTEN) {
        const confirm = store.confirm.bind(store);
        waits.push(async () => {
          const confirmed = await confirm(key);
          // The copy was behind: this member's listeners were not told yet.
          if (confirmed.changed) this.notifier.changed(key);
          // Unconfirmed (the database away), who is behind is unknown: the key is not reported
          // changed, lest the client read older content here; the next listen asks again.
          md5s[index] = confirmed.confirmed ? (confirmed.record?.md5 ?? ABSENT_MD5) : md5;
        });
      }
    });
    if (waits.length > 0) await this.stored(() => Promise.all(waits.map((wait) => wait())));
    return md5s;
  }

  /** A key's history, newest first (Nacos op types: I new content, U and D previous). */
  async history(params: KeyParams, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>> {
    return this.stored(() => this.store.history(this.checkedKey(params), page));
  }

  /** One history row of the key, or undefined (also when the row belongs to another key). */
  async historyEntry(params: KeyParams, nid: number): Promise<HistoryEntry | undefined> {
    const key = this.checkedKey(params);
    const entry = await this.stored(() => this.store.historyEntry(nid));
    if (entry === undefined || groupKey(entry) !== groupKey(key)) return undefined;
    return entry;
  }

  /** A connection closed: forget what it listened to and stop its notifications. */
  connectionClosed(connectionId: string): void {
    this.context.clearConnection(connectionId);
    this.notifier.connectionClosed(connectionId);
  }

  /** Stops notifications and closes the store. */
  async close(): Promise<void> {
    this.notifier.stop();
    await this.store.close();
  }

  /**
   * Runs a store call. A store failure's message names the database and holds the driver's words
   * (users, tables): it is logged here, and the caller, often an anonymous client, gets the same
   * class with a fixed text and a reference to the log line.
   */
  private async stored<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** What a caller is told of a store failure (logged here with its detail); any other error as is. */
  private failure(error: unknown): unknown {
    const reference = randomUUID();
    if (error instanceof ConfigStoreUnavailableError) {
      this.options.logger.warn({ err: error, reference }, 'config store unavailable');
      return new ConfigStoreUnavailableError(`config database unavailable, reference ${reference}`, { cause: error });
    }
    if (error instanceof ConfigStoreError) {
      this.options.logger.error({ err: error, reference }, 'config store error');
      return new ConfigStoreError(`config store error, reference ${reference}`, { cause: error });
    }
    return error;
  }

  private checkedKey(params: KeyParams): ConfigKey {
    this.checkSupported(params);
    return checkKey(params.dataId, params.group, params.tenant);
  }

  private listenedKey(params: KeyParams): ConfigKey {
    this.checkSupported(params);
    if (!isNonBlank(params.dataId)) throw new InvalidConfigParamError(`invalid dataId : ${params.dataId ?? 'null'}`);
    if (!isNonBlank(params.group)) throw new InvalidConfigParamError(`invalid group : ${params.group ?? 'null'}`);
    return { dataId: params.dataId, group: params.group, tenant: storedNamespace(params.tenant) };
  }

  private checkSupported(params: KeyParams): void {
    if (!this.options.serving()) throw new SharedStoreRequiredError();
    if (isNonBlank(params.tag)) throw new ConfigNotSupportedError('tag');
  }
}
