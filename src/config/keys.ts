import type { ConfigKey } from '../protocol/config/index.js';
import { InvalidConfigParamError } from './errors.js';

// Java `Character.isLetterOrDigit` plus ParamUtils's four extra characters.
const VALID_NAME = /^[\p{L}\p{Nd}_\-.:]*$/u;
const TENANT_MAX_LENGTH = 128;

function isBlank(value: string | undefined): value is undefined {
  return value === undefined || value.trim() === '';
}

/** ParamUtils.isValid: letters, digits and `_ - . :` only. */
export function isValidName(value: string): boolean {
  return VALID_NAME.test(value);
}

/**
 * Checks a key as Nacos's ParamUtils does (dataId trimmed, group as is, tenant optional) and
 * returns it with the tenant defaulted to public.
 * @throws InvalidConfigParamError with Nacos's message
 */
/**
 * The namespace a key is stored under (Nacos's `NamespaceUtil.processNamespaceParameter`): blank,
 * `public` and `null` (any case) are the default namespace `""`; others are trimmed. Nacos 3.x
 * clients name the default namespace `public`, 2.x clients `""`: both reach the same configs.
 */
export function storedNamespace(tenant: string | undefined): string {
  const trimmed = (tenant ?? '').trim();
  const lower = trimmed.toLowerCase();
  return lower === 'public' || lower === 'null' ? '' : trimmed;
}

export function checkKey(dataId: string | undefined, group: string | undefined, tenant: string | undefined): ConfigKey {
  if (isBlank(dataId) || !isValidName(dataId.trim())) throw new InvalidConfigParamError(`invalid dataId : ${dataId ?? 'null'}`);
  if (isBlank(group) || !isValidName(group)) throw new InvalidConfigParamError(`invalid group : ${group ?? 'null'}`);
  const namespace = tenant ?? '';
  if (namespace.trim() !== '') {
    if (!isValidName(namespace.trim())) throw new InvalidConfigParamError('invalid tenant');
    if (namespace.length > TENANT_MAX_LENGTH) throw new InvalidConfigParamError(`too long tenant, over ${TENANT_MAX_LENGTH}`);
  }
  return { dataId, group, tenant: storedNamespace(namespace) };
}

/**
 * A key a publish would store must fit Nacos's columns (Nacos 2.2.4 leaves this to the database,
 * which fails the statement): counted in characters, as MySQL's varchar.
 * @throws InvalidConfigParamError naming the field
 */
export function checkStorable(key: ConfigKey): ConfigKey {
  // Nacos's `config_info` columns: data_id varchar(255), group_id varchar(128).
  if (!fitsColumn(key.dataId, 255)) throw new InvalidConfigParamError('too long dataId, over 255');
  if (!fitsColumn(key.group, 128)) throw new InvalidConfigParamError('too long group, over 128');
  return key;
}

/** Whether a varchar(max) holds the string: counted in characters (a surrogate pair is one), counted only when it could matter. */
function fitsColumn(value: string, max: number): boolean {
  return value.length <= max || [...value].length <= max;
}

/**
 * Checks content: not blank, at most `maxBytes` UTF-8 bytes (Nacos counts UTF-16 units; we count
 * what is stored and sent).
 * @throws InvalidConfigParamError
 */
export function checkContent(content: string | undefined, maxBytes: number): string {
  if (isBlank(content)) throw new InvalidConfigParamError(`content is blank : ${content ?? 'null'}`);
  // A UTF-8 byte is at least one per UTF-16 unit and at most three: skip the count when it cannot matter.
  if (content.length * 3 > maxBytes && Buffer.byteLength(content, 'utf8') > maxBytes) {
    throw new InvalidConfigParamError(`invalid content, over ${maxBytes}`);
  }
  return content;
}

/** Caps on a publish's advance info (ParamUtils.checkParam(Map)). */
const ADVANCE_INFO_MAX_LENGTH = { desc: 128, use: 32, effect: 32, type: 32, schema: 32768 } as const;

/** Optional fields a publish may describe a config with. */
export interface ConfigAdvanceInfo {
  readonly desc?: string;
  readonly use?: string;
  readonly effect?: string;
  readonly type?: string;
  readonly schema?: string;
}

/** @throws InvalidConfigParamError naming the field that is too long */
export function checkAdvanceInfo(info: ConfigAdvanceInfo): ConfigAdvanceInfo {
  for (const [field, max] of Object.entries(ADVANCE_INFO_MAX_LENGTH)) {
    const value = info[field as keyof ConfigAdvanceInfo];
    if (value !== undefined && value.length > max) throw new InvalidConfigParamError(`too long ${field}, over ${max}`);
  }
  return info;
}

// A character outside the Basic Multilingual Plane: four bytes in UTF-8 (emoji, rare CJK).
const FOUR_BYTE_UTF8 = /[\u{10000}-\u{10FFFF}]/u;

/**
 * Nacos's schema stores text as MySQL `utf8`, three bytes a character at most: a four-byte
 * character cannot be stored there. Refused the same way whichever store is used, so a config
 * that works on one node works on a cluster (docs/config.md#four-byte-characters).
 * @throws InvalidConfigParamError naming the field
 */
export function checkThreeByteUtf8(fields: Readonly<Record<string, string | undefined>>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const found = FOUR_BYTE_UTF8.exec(value);
    if (found !== null) {
      const codePoint = found[0].codePointAt(0)!.toString(16).toUpperCase();
      throw new InvalidConfigParamError(
        `invalid ${field}: it holds U+${codePoint} at index ${found.index}, a 4-byte UTF-8 character that Nacos's utf8 schema cannot store (config.allowFourByteUtf8 accepts it where the tables are utf8mb4)`,
      );
    }
  }
}
