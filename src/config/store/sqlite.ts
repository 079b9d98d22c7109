import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigStoreError } from '../errors.js';
import { md5Hex, type ConfigKey } from '../../protocol/config/index.js';
import {
  HistoryOp,
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

interface ConfigRow {
  id: number;
  data_id: string;
  group_id: string;
  content: string;
  md5: string | null;
  gmt_create: number;
  gmt_modified: number;
  src_user: string | null;
  src_ip: string | null;
  app_name: string | null;
  tenant_id: string;
  c_desc: string | null;
  c_use: string | null;
  effect: string | null;
  type: string | null;
  c_schema: string | null;
  encrypted_data_key: string;
}

interface HistoryRow {
  id: number;
  nid: number;
  data_id: string;
  group_id: string;
  app_name: string | null;
  content?: string;
  md5?: string | null;
  gmt_create: number;
  gmt_modified: number;
  src_user: string | null;
  src_ip: string | null;
  op_type: string;
  tenant_id: string;
  encrypted_data_key?: string;
}

/** Drops SQL NULLs so records hold absent fields, not nulls. */
function present<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

function toRecord(row: ConfigRow): ConfigRecord {
  return {
    id: row.id,
    dataId: row.data_id,
    group: row.group_id,
    tenant: row.tenant_id,
    content: row.content,
    md5: row.md5 ?? '',
    appName: present(row.app_name),
    encryptedDataKey: row.encrypted_data_key,
    srcUser: present(row.src_user),
    srcIp: present(row.src_ip),
    desc: present(row.c_desc),
    use: present(row.c_use),
    effect: present(row.effect),
    type: present(row.type),
    schema: present(row.c_schema),
    createdAt: row.gmt_create,
    modifiedAt: row.gmt_modified,
  };
}

function toHistorySummary(row: HistoryRow): HistorySummary {
  return {
    nid: row.nid,
    id: row.id,
    dataId: row.data_id,
    group: row.group_id,
    tenant: row.tenant_id,
    appName: present(row.app_name),
    srcUser: present(row.src_user),
    srcIp: present(row.src_ip),
    opType: row.op_type as HistoryOp,
    createdAt: row.gmt_create,
    modifiedAt: row.gmt_modified,
  };
}

/** What a key's statements bind. */
function keyParams(key: ConfigKey): { dataId: string; group: string; tenant: string } {
  return { dataId: key.dataId, group: key.group, tenant: key.tenant };
}

/**
 * The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a publish that
 * resolved survives a SIGKILL or power cut. better-sqlite3 is synchronous: each call commits
 * before it returns, and Node runs one at a time, so a CAS check and its write cannot interleave.
 */
export class SqliteConfigStore implements ConfigStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly publishTx: (input: PublishInput) => PublishResult;
  private readonly removeTx: (key: ConfigKey, source: ChangeSource & { time: number }) => ConfigRecord | undefined;

  /** Opens (creating if needed) the database file; `:memory:` for a throwaway store. */
  constructor(file: string) {
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
      get: db.prepare<[{ dataId: string; group: string; tenant: string }], ConfigRow>(`SELECT * FROM config_info WHERE ${keyWhere}`),
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
      historyPage: db.prepare<[{ dataId: string; group: string; tenant: string; limit: number; offset: number }], HistoryRow>(
        `SELECT nid, id, data_id, group_id, tenant_id, app_name, src_ip, src_user, op_type, gmt_create, gmt_modified
         FROM his_config_info WHERE ${keyWhere} ORDER BY nid DESC LIMIT @limit OFFSET @offset`,
      ),
      historyCount: db.prepare<[{ dataId: string; group: string; tenant: string }], { n: number }>(
        `SELECT COUNT(*) AS n FROM his_config_info WHERE ${keyWhere}`,
      ),
      historyEntry: db.prepare<[number], HistoryRow>('SELECT * FROM his_config_info WHERE nid = ?'),
      list: db.prepare<[number, number], ConfigRow>('SELECT * FROM config_info WHERE id > ? ORDER BY id LIMIT ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM config_info'),
    };
    this.publishTx = db.transaction((input: PublishInput) => this.publishInTransaction(input));
    this.removeTx = db.transaction((key: ConfigKey, source: ChangeSource & { time: number }) => this.removeInTransaction(key, source));
  }

  get(key: ConfigKey): Promise<ConfigRecord | undefined> {
    return this.run(() => {
      const row = this.statements.get.get(keyParams(key));
      return row === undefined ? undefined : toRecord(row);
    });
  }

  publish(input: PublishInput): Promise<PublishResult> {
    return this.run(() => this.publishTx(input));
  }

  remove(key: ConfigKey, source: ChangeSource & { readonly time: number }): Promise<ConfigRecord | undefined> {
    return this.run(() => this.removeTx(key, source));
  }

  history(key: ConfigKey, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>> {
    return this.run(() => {
      const total = this.statements.historyCount.get(keyParams(key))?.n ?? 0;
      const rows = this.statements.historyPage.all({ ...keyParams(key), limit: page.limit, offset: page.offset });
      return { total, items: rows.map(toHistorySummary) };
    });
  }

  historyEntry(nid: number): Promise<HistoryEntry | undefined> {
    return this.run(() => {
      const row = this.statements.historyEntry.get(nid);
      if (row === undefined) return undefined;
      return { ...toHistorySummary(row), content: row.content ?? '', md5: row.md5 ?? '', encryptedDataKey: row.encrypted_data_key ?? '' };
    });
  }

  list(afterId: number, limit: number): Promise<readonly ConfigRecord[]> {
    return this.run(() => this.statements.list.all(afterId, limit).map(toRecord));
  }

  count(): Promise<number> {
    return this.run(() => this.statements.count.get()?.n ?? 0);
  }

  close(): Promise<void> {
    return this.run(() => {
      if (this.db.open) this.db.close();
    });
  }

  private publishInTransaction(input: PublishInput): PublishResult {
    const key = keyParams(input.key);
    const existing = this.statements.get.get(key);
    const values = {
      ...key,
      content: input.content,
      md5: md5Hex(input.content),
      time: input.time,
      srcUser: input.srcUser ?? null,
      srcIp: input.srcIp ?? null,
      // As Nacos: an update without appName keeps the stored one.
      appName: input.appName ?? existing?.app_name ?? null,
      desc: input.desc ?? null,
      use: input.use ?? null,
      effect: input.effect ?? null,
      type: input.type ?? null,
      schema: input.schema ?? null,
      encryptedDataKey: input.encryptedDataKey ?? '',
    };
    if (existing === undefined) {
      // A CAS publish of a key that does not exist creates it, as Nacos 2.2.4.
      this.statements.insert.run(values);
      this.statements.history.run({ ...values, id: 0, opType: HistoryOp.INSERT });
      return { ok: true, record: toRecord(this.statements.get.get(key)!), contentChanged: true };
    }
    const storedMd5 = existing.md5 ?? '';
    if (input.casMd5 !== undefined && storedMd5 !== '' && storedMd5 !== input.casMd5) return { ok: false, reason: 'cas-mismatch' };
    this.statements.update.run({ ...values, id: existing.id });
    this.writeHistory(existing, input, HistoryOp.UPDATE);
    return { ok: true, record: toRecord(this.statements.get.get(key)!), contentChanged: storedMd5 !== values.md5 };
  }

  private removeInTransaction(key: ConfigKey, source: ChangeSource & { time: number }): ConfigRecord | undefined {
    const existing = this.statements.get.get(keyParams(key));
    if (existing === undefined) return undefined;
    this.statements.delete.run(existing.id);
    this.writeHistory(existing, source, HistoryOp.DELETE);
    return toRecord(existing);
  }

  /** Updates and deletes keep the previous content in history, as Nacos. */
  private writeHistory(previous: ConfigRow, source: ChangeSource & { time: number }, opType: HistoryOp): void {
    this.statements.history.run({
      id: previous.id,
      dataId: previous.data_id,
      group: previous.group_id,
      tenant: previous.tenant_id,
      appName: previous.app_name,
      content: previous.content,
      md5: previous.md5,
      time: source.time,
      srcUser: source.srcUser ?? null,
      srcIp: source.srcIp ?? null,
      opType,
      encryptedDataKey: previous.encrypted_data_key,
    });
  }

  /** Runs a synchronous database call, failing the promise with a typed error. */
  private run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof ConfigStoreError ? error : new ConfigStoreError(`config store: ${(error as Error).message}`, { cause: error }));
    }
  }
}
