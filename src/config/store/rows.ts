import { md5Hex, type ConfigKey } from '../../protocol/config/index.js';
import { HistoryOp, type ChangeMark, type ChangeSource, type ConfigRecord, type HistorySummary, type PublishInput } from './types.js';

/**
 * Rows of Nacos's `config_info` and `his_config_info` as both stores read them, and what a publish
 * or remove writes, decided here once for the SQLite and MySQL stores. `Time` is how a store
 * holds `gmt_*`: epoch ms in SQLite, a DATETIME (Date) in MySQL.
 */
export interface ConfigRow<Time> {
  id: number;
  data_id: string;
  group_id: string;
  content: string;
  md5: string | null;
  gmt_create: Time;
  gmt_modified: Time;
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

export interface HistoryRow<Time> {
  id: number;
  nid: number;
  data_id: string;
  group_id: string;
  app_name: string | null;
  content?: string;
  md5?: string | null;
  gmt_create: Time;
  gmt_modified: Time;
  src_user: string | null;
  src_ip: string | null;
  op_type: string;
  tenant_id: string;
  encrypted_data_key?: string;
}

/** The columns of a history row that name the change's key. */
export interface ChangeRow {
  nid: number;
  data_id: string;
  group_id: string;
  tenant_id: string;
}

export function toChangeMark(row: ChangeRow): ChangeMark {
  return { nid: Number(row.nid), dataId: row.data_id, group: row.group_id, tenant: row.tenant_id };
}

/** Drops SQL NULLs so records hold absent fields, not nulls. */
function present<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

/** Nacos writes '' for no app name. */
function appNameOf(row: { readonly app_name: string | null }): string | undefined {
  return row.app_name === '' ? undefined : present(row.app_name);
}

export function toRecord<Time>(row: ConfigRow<Time>, toMs: (time: Time) => number): ConfigRecord {
  return {
    id: row.id,
    dataId: row.data_id,
    group: row.group_id,
    tenant: row.tenant_id,
    content: row.content,
    md5: row.md5 ?? '',
    appName: appNameOf(row),
    encryptedDataKey: row.encrypted_data_key,
    srcUser: present(row.src_user),
    srcIp: present(row.src_ip),
    desc: present(row.c_desc),
    use: present(row.c_use),
    effect: present(row.effect),
    type: present(row.type),
    schema: present(row.c_schema),
    createdAt: toMs(row.gmt_create),
    modifiedAt: toMs(row.gmt_modified),
  };
}

export function toHistorySummary<Time>(row: HistoryRow<Time>, toMs: (time: Time) => number): HistorySummary {
  return {
    nid: row.nid,
    id: row.id,
    dataId: row.data_id,
    group: row.group_id,
    tenant: row.tenant_id,
    appName: appNameOf(row),
    srcUser: present(row.src_user),
    srcIp: present(row.src_ip),
    opType: row.op_type.trim() as HistoryOp,
    createdAt: toMs(row.gmt_create),
    modifiedAt: toMs(row.gmt_modified),
  };
}

/** The values of a config row a publish writes; `time` is the store's own time value. */
export interface ConfigValues<Time> {
  dataId: string;
  group: string;
  tenant: string;
  content: string;
  md5: string;
  time: Time;
  srcUser: string | null;
  srcIp: string | null;
  appName: string | null;
  desc: string | null;
  use: string | null;
  effect: string | null;
  type: string | null;
  schema: string | null;
  encryptedDataKey: string;
}

/** A history row to write: the config's id (0 for an insert), its content and who changed it. */
export interface HistoryValues<Time> {
  id: number;
  dataId: string;
  group: string;
  tenant: string;
  appName: string | null;
  content: string;
  md5: string | null;
  time: Time;
  srcUser: string | null;
  srcIp: string | null;
  opType: HistoryOp;
  encryptedDataKey: string;
}

export type PublishPlan<Time> =
  | { readonly action: 'insert'; readonly values: ConfigValues<Time>; readonly history: HistoryValues<Time> }
  | { readonly action: 'update'; readonly id: number; readonly values: ConfigValues<Time>; readonly history: HistoryValues<Time>; readonly contentChanged: boolean }
  | { readonly action: 'cas-mismatch' };

/**
 * What a publish writes, given the row stored under its key (read in the same transaction), as
 * Nacos: an insert keeps its new content in history (op I, config id 0), an update the previous
 * one (op U); an update without appName keeps the stored one; a CAS publish of a missing key
 * creates it, and a stored row without md5 takes any CAS.
 */
export function planPublish<Time>(input: PublishInput, existing: ConfigRow<Time> | undefined, time: Time): PublishPlan<Time> {
  const values: ConfigValues<Time> = {
    dataId: input.key.dataId,
    group: input.key.group,
    tenant: input.key.tenant,
    content: input.content,
    md5: md5Hex(input.content),
    time,
    srcUser: input.srcUser ?? null,
    srcIp: input.srcIp ?? null,
    appName: input.appName ?? existing?.app_name ?? null,
    desc: input.desc ?? null,
    use: input.use ?? null,
    effect: input.effect ?? null,
    type: input.type ?? null,
    schema: input.schema ?? null,
    encryptedDataKey: input.encryptedDataKey ?? '',
  };
  if (existing === undefined) return { action: 'insert', values, history: { ...values, id: 0, opType: HistoryOp.INSERT } };
  const storedMd5 = existing.md5 ?? '';
  if (input.casMd5 !== undefined && storedMd5 !== '' && storedMd5 !== input.casMd5) return { action: 'cas-mismatch' };
  return { action: 'update', id: existing.id, values, history: previousInHistory(existing, input, time, HistoryOp.UPDATE), contentChanged: storedMd5 !== values.md5 };
}

/** Updates and deletes keep the previous content in history, as Nacos. */
export function previousInHistory<Time>(previous: ConfigRow<unknown>, source: ChangeSource, time: Time, opType: HistoryOp): HistoryValues<Time> {
  return {
    id: previous.id,
    dataId: previous.data_id,
    group: previous.group_id,
    tenant: previous.tenant_id,
    appName: previous.app_name,
    content: previous.content,
    md5: previous.md5,
    time,
    srcUser: source.srcUser ?? null,
    srcIp: source.srcIp ?? null,
    opType,
    encryptedDataKey: previous.encrypted_data_key,
  };
}
