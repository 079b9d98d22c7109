import { createPool, type Pool, type PoolConnection, type RowDataPacket, type ResultSetHeader } from 'mysql2/promise';
import type { ConfigKey } from '../../protocol/config/index.js';
import { ConfigStoreError, ConfigStoreUnavailableError } from '../errors.js';
import { MYSQL_SCHEMA } from './mysql-schema.js';
import { planPublish, previousInHistory, toChangeMark, toHistorySummary, toRecord, type ChangeRow, type ConfigRow, type ConfigValues, type HistoryRow, type HistoryValues } from './rows.js';
import {
  HistoryOp,
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

/** Where the shared database is and how long to wait for it (node config `db`, docs/config.md). */
export interface MysqlStoreOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Connections kept open at most. */
  readonly poolSize: number;
  /** To open a connection, and to wait for a free one in the pool. */
  readonly connectTimeoutMs: number;
  /** Per statement: a database that stops answering fails the call after this. */
  readonly queryTimeoutMs: number;
  /**
   * How DATETIME columns are read and written: `'Z'` (UTC, what Nacos writes with the
   * `serverTimezone=UTC` of its documented JDBC URL) or `'local'`, or an offset such as `'+08:00'`.
   */
  readonly timezone: string;
  /** Create Nacos's tables when missing (`--db-init`). */
  readonly init: boolean;
}

type MysqlConfigRow = ConfigRow<Date> & RowDataPacket;
type MysqlHistoryRow = HistoryRow<Date> & RowDataPacket;
const dateMs = (time: Date): number => time.getTime();

/** DATETIME holds whole seconds: a time is cut to its second so what is returned is what is stored. */
function toDatetime(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

// Errors that mean the database could not be reached or stopped answering, not that a statement is wrong.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

interface DriverError {
  readonly code?: string;
  readonly fatal?: boolean;
  readonly message?: string;
}

function isUnreachable(error: unknown): boolean {
  const { code, fatal } = (error ?? {}) as DriverError;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return true;
  // The server's own refusals (access denied, unknown database) are fatal to a connection too,
  // but they are the operator's to fix, not an outage.
  return fatal === true && !(code ?? '').startsWith('ER_');
}

/**
 * A key with a 4-byte character compared with Nacos's utf8 (3-byte) columns: the database
 * refuses the comparison, and no row can hold such a key, so it is absent.
 */
function isUnstorableKey(error: unknown): boolean {
  return (error as DriverError | undefined)?.code === 'ER_CANT_AGGREGATE_2COLLATIONS';
}

/** Tries of a publish that lost a race to create its key. */
const PUBLISH_ATTEMPTS = 3;

const KEY_WHERE = 'data_id = ? AND group_id = ? AND tenant_id = ?';
const INSERT_CONFIG = `INSERT INTO config_info (data_id, group_id, tenant_id, app_name, content, md5, src_ip, src_user,
  gmt_create, gmt_modified, c_desc, c_use, effect, type, c_schema, encrypted_data_key)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const UPDATE_CONFIG = `UPDATE config_info SET content = ?, md5 = ?, src_ip = ?, src_user = ?, gmt_modified = ?, app_name = ?,
  c_desc = ?, c_use = ?, effect = ?, type = ?, c_schema = ?, encrypted_data_key = ? WHERE id = ?`;
// gmt_create is the change's time too (Nacos leaves it to the column default, the database's now).
const INSERT_HISTORY = `INSERT INTO his_config_info (id, data_id, group_id, tenant_id, app_name, content, md5, src_ip, src_user,
  gmt_create, gmt_modified, op_type, encrypted_data_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Nacos writes '' for no app name: so do we, for rows Nacos reads back. */
function insertParams(v: ConfigValues<Date>): unknown[] {
  return [v.dataId, v.group, v.tenant, v.appName ?? '', v.content, v.md5, v.srcIp, v.srcUser, v.time, v.time, v.desc, v.use, v.effect, v.type, v.schema, v.encryptedDataKey];
}

function updateParams(v: ConfigValues<Date>, id: number): unknown[] {
  return [v.content, v.md5, v.srcIp, v.srcUser, v.time, v.appName ?? '', v.desc, v.use, v.effect, v.type, v.schema, v.encryptedDataKey, id];
}

function historyParams(h: HistoryValues<Date>): unknown[] {
  return [h.id, h.dataId, h.group, h.tenant, h.appName ?? '', h.content, h.md5, h.srcIp, h.srcUser, h.time, h.time, h.opType, h.encryptedDataKey];
}

/**
 * The shared store: a MySQL or MariaDB database with Nacos's tables, so members (and a Nacos
 * server) pointed at it see the same configs. Each change is one transaction that locks the
 * key's row; a statement fails with {@link ConfigStoreUnavailableError} when the database cannot
 * be reached, and the pool opens new connections by itself once it can.
 */
export class MysqlConfigStore implements ConfigStore {
  private readonly pool: Pool;
  private schemaReady: Promise<void> | undefined;

  constructor(private readonly options: MysqlStoreOptions) {
    this.pool = createPool({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      database: options.database,
      connectionLimit: options.poolSize,
      connectTimeout: options.connectTimeoutMs,
      timezone: options.timezone,
      // 4-byte characters reach the server intact; a utf8 (3-byte) column then refuses them.
      charset: 'utf8mb4',
      enableKeepAlive: true,
      waitForConnections: true,
    });
    // An idle connection the server dropped reports here; the pool discards it and opens another.
    this.pool.on('connection', (connection) => connection.on('error', () => undefined));
  }

  get(key: ConfigKey): Promise<ConfigRecord | undefined> {
    return this.withConnection(async (connection) => {
      const row = await this.selectConfig(connection, key, false);
      return row === undefined ? undefined : toRecord(row, dateMs);
    });
  }

  publish(input: PublishInput): Promise<PublishResult> {
    return this.withConnection(async (connection) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.inTransaction(connection, () => this.publishInTransaction(connection, input));
        } catch (error) {
          // Two members creating the same new key: the database refuses the second insert
          // (duplicate) or, rarely, rolls one back (deadlock). Run again: it is an update now.
          const code = (error as DriverError).code;
          if (attempt >= PUBLISH_ATTEMPTS || (code !== 'ER_LOCK_DEADLOCK' && code !== 'ER_DUP_ENTRY')) throw error;
        }
      }
    });
  }

  remove(key: ConfigKey, source: ChangeSource & { readonly time: number }): Promise<ConfigRecord | undefined> {
    return this.withConnection((connection) =>
      this.inTransaction(connection, async () => {
        const existing = await this.selectConfig(connection, key, true);
        if (existing === undefined) return undefined;
        await this.run(connection, 'DELETE FROM config_info WHERE id = ?', [existing.id]);
        await this.run(connection, INSERT_HISTORY, historyParams(previousInHistory(existing, source, toDatetime(source.time), HistoryOp.DELETE)));
        return toRecord(existing, dateMs);
      }),
    );
  }

  history(key: ConfigKey, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>> {
    return this.withConnection((connection) =>
      this.keyHistory(connection, key, page).catch((error: unknown) => {
        if (isUnstorableKey(error)) return { total: 0, items: [] };
        throw error;
      }),
    );
  }

  private async keyHistory(connection: PoolConnection, key: ConfigKey, page: { readonly offset: number; readonly limit: number }): Promise<Page<HistorySummary>> {
    const [counted] = await this.rows<RowDataPacket>(connection, `SELECT COUNT(*) AS n FROM his_config_info WHERE ${KEY_WHERE}`, [key.dataId, key.group, key.tenant]);
    const rows = await this.rows<MysqlHistoryRow>(
      connection,
      `SELECT nid, id, data_id, group_id, tenant_id, app_name, src_ip, src_user, op_type, gmt_create, gmt_modified
       FROM his_config_info WHERE ${KEY_WHERE} ORDER BY nid DESC LIMIT ? OFFSET ?`,
      [key.dataId, key.group, key.tenant, page.limit, page.offset],
    );
    return { total: Number(counted?.['n'] ?? 0), items: rows.map((row) => toHistorySummary(row, dateMs)) };
  }

  historyEntry(nid: number): Promise<HistoryEntry | undefined> {
    return this.withConnection(async (connection) => {
      const [row] = await this.rows<MysqlHistoryRow>(connection, 'SELECT * FROM his_config_info WHERE nid = ?', [nid]);
      if (row === undefined) return undefined;
      return { ...toHistorySummary(row, dateMs), content: row.content ?? '', md5: row.md5 ?? '', encryptedDataKey: row.encrypted_data_key ?? '' };
    });
  }

  list(afterId: number, limit: number): Promise<readonly ConfigRecord[]> {
    return this.withConnection(async (connection) => {
      const rows = await this.rows<MysqlConfigRow>(connection, 'SELECT * FROM config_info WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
      return rows.map((row) => toRecord(row, dateMs));
    });
  }

  count(): Promise<number> {
    return this.withConnection(async (connection) => {
      const [row] = await this.rows<RowDataPacket>(connection, 'SELECT COUNT(*) AS n FROM config_info', []);
      return Number(row?.['n'] ?? 0);
    });
  }

  changesAfter(afterNid: number, limit: number): Promise<readonly ChangeMark[]> {
    return this.withConnection(async (connection) => {
      const rows = await this.rows<ChangeRow & RowDataPacket>(connection, 'SELECT nid, data_id, group_id, tenant_id FROM his_config_info WHERE nid > ? ORDER BY nid LIMIT ?', [afterNid, limit]);
      return rows.map(toChangeMark);
    });
  }

  latestChange(): Promise<number> {
    return this.withConnection(async (connection) => {
      const [row] = await this.rows<RowDataPacket>(connection, 'SELECT MAX(nid) AS n FROM his_config_info', []);
      return Number(row?.['n'] ?? 0);
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async publishInTransaction(connection: PoolConnection, input: PublishInput): Promise<PublishResult> {
    const existing = await this.selectConfig(connection, input.key, true);
    const plan = planPublish(input, existing, toDatetime(input.time));
    if (plan.action === 'cas-mismatch') return { ok: false, reason: 'cas-mismatch' };
    if (plan.action === 'insert') await this.run(connection, INSERT_CONFIG, insertParams(plan.values));
    else await this.run(connection, UPDATE_CONFIG, updateParams(plan.values, plan.id));
    await this.run(connection, INSERT_HISTORY, historyParams(plan.history));
    const stored = await this.selectConfig(connection, input.key, false);
    return { ok: true, record: toRecord(stored!, dateMs), contentChanged: plan.action === 'insert' || plan.contentChanged };
  }

  /** The key's row; `forUpdate` locks it (or the gap where it would be) until the transaction ends. */
  private async selectConfig(connection: PoolConnection, key: ConfigKey, forUpdate: boolean): Promise<MysqlConfigRow | undefined> {
    try {
      const [row] = await this.rows<MysqlConfigRow>(connection, `SELECT * FROM config_info WHERE ${KEY_WHERE}${forUpdate ? ' FOR UPDATE' : ''}`, [key.dataId, key.group, key.tenant]);
      return row;
    } catch (error) {
      if (isUnstorableKey(error)) return undefined;
      throw error;
    }
  }

  private async inTransaction<T>(connection: PoolConnection, work: () => Promise<T>): Promise<T> {
    // READ COMMITTED takes no gap locks: members creating different new keys do not deadlock
    // on the gap between existing ones; two creating the same key meet on its unique index.
    await this.run(connection, 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED', []);
    // As statements with the query timeout: the driver's own begin, commit and rollback have none.
    await this.run(connection, 'START TRANSACTION', []);
    try {
      const result = await work();
      await this.run(connection, 'COMMIT', []);
      return result;
    } catch (error) {
      // A statement that timed out is still running on the connection, and a rollback would wait
      // behind it for as long as the database takes: withConnection destroys the connection
      // instead, and the server rolls back when it sees it gone.
      if (!isUnreachable(error)) await this.run(connection, 'ROLLBACK', []).catch(() => connection.destroy());
      throw error;
    }
  }

  private async rows<T extends RowDataPacket>(connection: PoolConnection, sql: string, values: unknown[]): Promise<T[]> {
    const [rows] = await connection.query<T[]>({ sql, values, timeout: this.options.queryTimeoutMs });
    return rows;
  }

  private async run(connection: PoolConnection, sql: string, values: unknown[]): Promise<void> {
    await connection.query<ResultSetHeader>({ sql, values, timeout: this.options.queryTimeoutMs });
  }

  /**
   * Runs `work` on a pooled connection, within connectTimeoutMs to get one, with the schema
   * created first when asked (once it has succeeded); maps driver errors to typed ones.
   */
  private async withConnection<T>(work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    let connection: PoolConnection | undefined;
    try {
      connection = await this.acquire();
      if (this.options.init) await this.ensureSchema(connection);
      const result = await work(connection);
      connection.release();
      return result;
    } catch (error) {
      // A connection that failed mid-call is not trusted again.
      if (connection !== undefined) (isUnreachable(error) ? connection.destroy() : connection.release());
      throw this.typed(error);
    }
  }

  /**
   * With `init`, creates Nacos's tables now, so they exist once the node says it is ready (else
   * they would wait for the first call). Without it, does nothing.
   * @throws ConfigStoreUnavailableError or ConfigStoreError when the database refuses
   */
  async createSchemaIfAsked(): Promise<void> {
    if (this.options.init) await this.withConnection(async () => undefined);
  }

  private acquire(): Promise<PoolConnection> {
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(Object.assign(new Error(`no database connection within ${this.options.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, this.options.connectTimeoutMs);
      this.pool.getConnection().then(
        (connection) => {
          clearTimeout(timer);
          // Handed over after we gave up: back to the pool for the next caller.
          if (timedOut) connection.release();
          else resolve(connection);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  private ensureSchema(connection: PoolConnection): Promise<void> {
    this.schemaReady ??= (async () => {
      for (const statement of MYSQL_SCHEMA) await this.run(connection, statement, []);
    })().catch((error: unknown) => {
      this.schemaReady = undefined;
      throw error;
    });
    return this.schemaReady;
  }

  private typed(error: unknown): Error {
    if (error instanceof ConfigStoreError || error instanceof ConfigStoreUnavailableError) return error;
    const { code, message } = (error ?? {}) as DriverError;
    const where = `${this.options.host}:${this.options.port}/${this.options.database}`;
    if (isUnreachable(error)) return new ConfigStoreUnavailableError(`config database ${where} unreachable: ${message ?? code ?? String(error)}`, { cause: error });
    const hint =
      code === 'ER_NO_SUCH_TABLE'
        ? " (create the tables: start with --db-init, or apply Nacos's mysql-schema.sql)"
        : code === 'ER_BAD_DB_ERROR'
          ? ' (create the database first: CREATE DATABASE … CHARACTER SET utf8 COLLATE utf8_bin)'
          : '';
    return new ConfigStoreError(`config database ${where}: ${message ?? String(error)}${hint}`, { cause: error });
  }
}
