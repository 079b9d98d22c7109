import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigStoreError } from '../errors.js';
import { groupKey, type ConfigKey } from '../../protocol/config/index.js';
import { planPublish, previousInHistory, toChangeMark, toHistorySummary, toRecord, type ChangeRow, type ConfigRow, type HistoryRow } from './rows.js';
import {
  HistoryOp,
  NOT_AT_HAND,
  type ChangeMark,
  type ChangeSource,
  type ConfigRecord,
  type ConfigStore,
  type HistoryEntry,
  type HistorySummary,
  type Page,
  type PublishInput,
  type PublishResult,
} from './types.js';

// Nacos's mysql-schema.sql tables with the same columns; times are epoch ms integers.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS config_info (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  data_id TEXT NOT NULL,
  group_id TEXT,
  content TEXT NOT NULL,
  md5 TEXT,
  gmt_create INTEGER NOT NULL,
  gmt_modified INTEGER NOT NULL,
  src_user TEXT,
  src_ip TEXT,
  app_name TEXT,
  tenant_id TEXT DEFAULT '',
  c_desc TEXT,
  c_use TEXT,
  effect TEXT,
  type TEXT,
  c_schema TEXT,
  encrypted_data_key TEXT NOT NULL,
  UNIQUE (data_id, group_id, tenant_id)
);
CREATE TABLE IF NOT EXISTS his_config_info (
  id INTEGER NOT NULL,
  nid INTEGER PRIMARY KEY AUTOINCREMENT,
  data_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  app_name TEXT,
  content TEXT NOT NULL,
  md5 TEXT,
  gmt_create INTEGER NOT NULL,
  gmt_modified INTEGER NOT NULL,
  src_user TEXT,
  src_ip TEXT,
  op_type TEXT,
  tenant_id TEXT DEFAULT '',
  encrypted_data_key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_his_key ON his_config_info (data_id, group_id, tenant_id, nid);
CREATE INDEX IF NOT EXISTS idx_his_gmt_modified ON his_config_info (gmt_modified);
`;

type SqliteConfigRow = ConfigRow<number>;
type SqliteHistoryRow = HistoryRow<number>;
const epochMs = (time: number): number => time;

export interface SqliteStoreOptions {
  /**
   * Only this store object writes the file (a node's own embedded store): every config read or
   * published is then held in memory, replaced by each publish and dropped by each remove once
   * committed, and read from there. Off where another writer shares the file (tests that play
   * two members on one file).
   */
  readonly holdInMemory?: boolean;
}

/**
 * The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a publish that
 * resolved survives a SIGKILL or power cut. better-sqlite3 is synchronous: each call commits
 * before it returns, and Node runs one at a time, so a CAS check and its write cannot interleave.
 */
export class SqliteConfigStore implements ConfigStore {
  private readonly db: Database.Database;
  /** With holdInMemory, configs read or published so far, by group key; absent keys are not held (any name may be asked for). */
  private readonly held: Map<string, ConfigRecord> | undefined;
  private readonly statements;
  private readonly publishTx: (input: PublishInput) => PublishResult;
  private readonly removeTx: (key: ConfigKey, source: ChangeSource & { time: number }) => ConfigRecord | undefined;

  /** Opens (creating if needed) the database file; `:memory:` for a throwaway store. */
  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.held = options.holdInMemory === true ? new Map() : undefined;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (error) {
      const message = (error as Error).message;
      // npm 11 skips dependencies' install scripts unless the project allows them: then the
      // native binding was never built.
      const hint = /bindings file|better_sqlite3\.node/.test(message)
        ? ' (better-sqlite3 was installed without building its native module: allow its install script with `npm install-scripts approve better-sqlite3`, then `npm rebuild better-sqlite3`)'
        : '';
      throw new ConfigStoreError(`cannot open config store ${file}: ${message}${hint}`, { cause: error });
    }
    const db = this.db;
    const keyWhere = 'data_id = @dataId AND group_id = @group AND tenant_id = @tenant';
    this.statements = {
      get: db.prepare<[{ dataId: string; group: string; tenant: string }], SqliteConfigRow>(`SELECT * FROM config_info WHERE ${keyWhere}`),
      insert: db.prepare(
        `INSERT INTO config_info (data_id, group_id, tenant_id, content, md5, gmt_create, gmt_modified, src_user, src_ip,
           app_name, c_desc, c_use, effect, type, c_schema, encrypted_data_key)
         VALUES (@dataId, @group, @tenant, @content, @md5, @time, @time, @srcUser, @srcIp,
           @appName, @desc, @use, @effect, @type, @schema, @encryptedDataKey)`,
      ),
      update: db.prepare(
        `UPDATE config_info SET content = @content, md5 = @md5, gmt_modified = @time, src_user = @srcUser, src_ip = @srcIp,
           app_name = @appName, c_desc = @desc, c_use = @use, effect = @effect, type = @type, c_schema = @schema,
           encrypted_data_key = @encryptedDataKey
         WHERE id = @id`,
      ),
      delete: db.prepare('DELETE FROM config_info WHERE id = ?'),
      history: db.prepare(
        `INSERT INTO his_config_info (id, data_id, group_id, tenant_id, app_name, content, md5, gmt_create, gmt_modified,
           src_user, src_ip, op_type, encrypted_data_key)
         VALUES (@id, @dataId, @group, @tenant, @appName, @content, @md5, @time, @time, @srcUser, @srcIp, @opType, @encryptedDataKey)`,
      ),
      historyPage: db.prepare<[{ dataId: string; group: string; tenant: string; limit: number; offset: number }], SqliteHistoryRow>(
        `SELECT nid, id, data_id, group_id, tenant_id, app_name, src_ip, src_user, op_type, gmt_create, gmt_modified
         FROM his_config_info WHERE ${keyWhere} ORDER BY nid DESC LIMIT @limit OFFSET @offset`,
      ),
      historyCount: db.prepare<[{ dataId: string; group: string; tenant: string }], { n: number }>(
        `SELECT COUNT(*) AS n FROM his_config_info WHERE ${keyWhere}`,
      ),
      historyEntry: db.prepare<[number], SqliteHistoryRow>('SELECT * FROM his_config_info WHERE nid = ?'),
      list: db.prepare<[number, number], SqliteConfigRow>('SELECT * FROM config_info WHERE id > ? ORDER BY id LIMIT ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM config_info'),
      changesAfter: db.prepare<[number, number], ChangeRow>('SELECT nid, data_id, group_id, tenant_id FROM his_config_info WHERE nid > ? ORDER BY nid LIMIT ?'),
      latestChange: db.prepare<[], { n: number | null }>('SELECT MAX(nid) AS n FROM his_config_info'),
    };
    this.publishTx = db.transaction((input: PublishInput) => this.publishInTransaction(input));
    this.removeTx = db.transaction((key: ConfigKey, source: ChangeSource & { time: number }) => this.removeInTransaction(key, source));
  }

  get(key: ConfigKey): Promise<ConfigRecord | undefined> {
    return this.run(() => this.read(key));
  }

  /** Always at hand: from memory, or a synchronous statement. @throws ConfigStoreError */
  readNow(key: ConfigKey): ConfigRecord | undefined | typeof NOT_AT_HAND {
    try {
      return this.read(key);
    } catch (error) {
      throw storeError(error);
    }
  }

  private read(key: ConfigKey): ConfigRecord | undefined {
    if (this.held === undefined) return this.readRow(key);
    const id = groupKey(key);
    let record = this.held.get(id);
    if (record === undefined) {
      record = this.readRow(key);
      if (record !== undefined) this.held.set(id, record);
    }
    return record;
  }

  private readRow(key: ConfigKey): ConfigRecord | undefined {
    const row = this.statements.get.get(key);
    return row === undefined ? undefined : toRecord(row, epochMs);
  }

  publish(input: PublishInput): Promise<PublishResult> {
    return this.run(() => {
      const result = this.publishTx(input);
      if (result.ok) this.held?.set(groupKey(input.key), result.record);
      return result;
    });
  }

  remove(key: ConfigKey, source: ChangeSource & { readonly time: number }): Promise<ConfigRecord | undefined> {
    return this.run(() => {
      const removed = this.removeTx(key, source);
      this.held?.delete(groupKey(key));
      return removed;
    });
  }

  history(key: ConfigKey, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>> {
    return this.run(() => {
      const total = this.statements.historyCount.get(key)?.n ?? 0;
      const rows = this.statements.historyPage.all({ ...key, limit: page.limit, offset: page.offset });
      return { total, items: rows.map((row) => toHistorySummary(row, epochMs)) };
    });
  }

  historyEntry(nid: number): Promise<HistoryEntry | undefined> {
    return this.run(() => {
      const row = this.statements.historyEntry.get(nid);
      if (row === undefined) return undefined;
      return { ...toHistorySummary(row, epochMs), content: row.content ?? '', md5: row.md5 ?? '', encryptedDataKey: row.encrypted_data_key ?? '' };
    });
  }

  list(afterId: number, limit: number): Promise<readonly ConfigRecord[]> {
    return this.run(() => this.statements.list.all(afterId, limit).map((row) => toRecord(row, epochMs)));
  }

  count(): Promise<number> {
    return this.run(() => this.statements.count.get()?.n ?? 0);
  }

  changesAfter(afterNid: number, limit: number): Promise<readonly ChangeMark[]> {
    return this.run(() => this.statements.changesAfter.all(afterNid, limit).map(toChangeMark));
  }

  latestChange(): Promise<number> {
    return this.run(() => this.statements.latestChange.get()?.n ?? 0);
  }

  close(): Promise<void> {
    return this.run(() => {
      if (this.db.open) this.db.close();
    });
  }

  private publishInTransaction(input: PublishInput): PublishResult {
    const plan = planPublish(input, this.statements.get.get(input.key), input.time);
    if (plan.action === 'cas-mismatch') return { ok: false, reason: 'cas-mismatch' };
    if (plan.action === 'insert') this.statements.insert.run(plan.values);
    else this.statements.update.run({ ...plan.values, id: plan.id });
    this.statements.history.run(plan.history);
    return { ok: true, record: toRecord(this.statements.get.get(input.key)!, epochMs), contentChanged: plan.action === 'insert' || plan.contentChanged };
  }

  private removeInTransaction(key: ConfigKey, source: ChangeSource & { time: number }): ConfigRecord | undefined {
    const existing = this.statements.get.get(key);
    if (existing === undefined) return undefined;
    this.statements.delete.run(existing.id);
    this.statements.history.run(previousInHistory(existing, source, source.time, HistoryOp.DELETE));
    return toRecord(existing, epochMs);
  }

  /** Runs a synchronous database call, failing the promise with a typed error. */
  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }
}

function storeError(error: unknown): ConfigStoreError {
  return error instanceof ConfigStoreError ? error : new ConfigStoreError(`config store: ${(error as Error).message}`, { cause: error });
}
