import type { ConfigKey } from '../../protocol/config/index.js';
import type { ConfigAdvanceInfo } from '../keys.js';

/** One stored config: the columns of Nacos's `config_info` (docs/config.md), times in epoch ms. */
export interface ConfigRecord extends ConfigKey, ConfigAdvanceInfo {
  readonly id: number;
  readonly content: string;
  readonly md5: string;
  readonly appName?: string;
  /** `''` when the content is not encrypted, as Nacos stores it. */
  readonly encryptedDataKey: string;
  readonly srcUser?: string;
  readonly srcIp?: string;
  readonly createdAt: number;
  readonly modifiedAt: number;
}

/** Who made a change, kept with it and in its history row. */
export interface ChangeSource {
  readonly srcIp?: string;
  readonly srcUser?: string;
}

/** A publish: the whole new state of a key. */
export interface PublishInput extends ChangeSource, ConfigAdvanceInfo {
  readonly key: ConfigKey;
  readonly content: string;
  readonly appName?: string;
  readonly encryptedDataKey?: string;
  /** Update only if the stored md5 equals this (a key that does not exist is created). */
  readonly casMd5?: string;
  /** The change's time, epoch ms. */
  readonly time: number;
}

export type PublishResult =
  /** `contentChanged`: the md5 differs from what was stored (or nothing was). */
  | { readonly ok: true; readonly record: ConfigRecord; readonly contentChanged: boolean }
  | { readonly ok: false; readonly reason: 'cas-mismatch' };

/** Nacos's history op types: insert (new content), update and delete (previous content). */
export const HistoryOp = { INSERT: 'I', UPDATE: 'U', DELETE: 'D' } as const;
export type HistoryOp = (typeof HistoryOp)[keyof typeof HistoryOp];

/** One `his_config_info` row without its content, as history lists show it. */
export interface HistorySummary extends ConfigKey, ChangeSource {
  /** The history row's own id. */
  readonly nid: number;
  /** The config's id; 0 for an insert, as Nacos. */
  readonly id: number;
  readonly appName?: string;
  readonly opType: HistoryOp;
  readonly createdAt: number;
  readonly modifiedAt: number;
}

/** A history row with its content. */
export interface HistoryEntry extends HistorySummary {
  readonly content: string;
  readonly md5: string;
  readonly encryptedDataKey: string;
}

/** A history row as a change to a key, nothing more. */
export interface ChangeMark extends ConfigKey {
  readonly nid: number;
}

export interface Page<T> {
  readonly total: number;
  readonly items: readonly T[];
}

/** {@link ConfigStore.readNow}'s answer when only a read that waits ({@link ConfigStore.get}) can tell. */
export const NOT_AT_HAND: unique symbol = Symbol('config not at hand');

/**
 * Where configs live. Every method commits before it resolves: a resolved publish is kept.
 * Async so a shared database (MySQL, the next issue) fits behind it.
 */
export interface ConfigStore {
  get(key: ConfigKey): Promise<ConfigRecord | undefined>;
  /**
   * The key's config, or undefined when absent, if the store can tell without waiting (from a
   * copy it knows current, or a synchronous database); else {@link NOT_AT_HAND}. A store without
   * it is always read with {@link get}.
   */
  readNow?(key: ConfigKey): ConfigRecord | undefined | typeof NOT_AT_HAND;
  /**
   * With {@link readNow} answered from a copy other writers may have got ahead of: what the
   * database holds for the key, the copy updated; `changed` when the copy's content changed (its
   * listeners are to be told). Asked when a listener holds another md5 than the copy's. Not
   * `confirmed` when the database could not be asked (the copy's answer then).
   */
  confirm?(key: ConfigKey): Promise<ConfirmedRecord>;
  /** Inserts or updates, with a history row, in one transaction. */
  publish(input: PublishInput): Promise<PublishResult>;
  /** Deletes with a history row; resolves with what was deleted, undefined if nothing was there. */
  remove(key: ConfigKey, source: ChangeSource & { readonly time: number }): Promise<ConfigRecord | undefined>;
  /** A key's history, newest first. */
  history(key: ConfigKey, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>>;
  historyEntry(nid: number): Promise<HistoryEntry | undefined>;
  /** Configs with id above `afterId`, by id: for a catch-up scan. */
  list(afterId: number, limit: number): Promise<readonly ConfigRecord[]>;
  /** History rows with nid above `afterNid`, by nid, as the keys they changed: a member's catch-up cursor. */
  changesAfter(afterNid: number, limit: number): Promise<readonly ChangeMark[]>;
  /** The newest history row's nid; 0 when there is none. */
  latestChange(): Promise<number>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** {@link ConfigStore.confirm}'s answer. */
export interface ConfirmedRecord {
  readonly record: ConfigRecord | undefined;
  /** The copy's content changed: its listeners are to be told. */
  readonly changed: boolean;
  /** The database was asked; false while it is away (the copy's answer). */
  readonly confirmed: boolean;
}
