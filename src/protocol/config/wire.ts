import { createHash } from 'node:crypto';
import { InvalidBodyError, NacosRemoteError } from '../errors.js';
import type { JsonObject, ResponseMessage } from '../messages.js';

/** Config's wire type names (docs/config.md). */
export const ConfigTypes = {
  QUERY: 'ConfigQueryRequest',
  QUERY_RESPONSE: 'ConfigQueryResponse',
  PUBLISH: 'ConfigPublishRequest',
  PUBLISH_RESPONSE: 'ConfigPublishResponse',
  REMOVE: 'ConfigRemoveRequest',
  REMOVE_RESPONSE: 'ConfigRemoveResponse',
  BATCH_LISTEN: 'ConfigBatchListenRequest',
  BATCH_LISTEN_RESPONSE: 'ConfigChangeBatchListenResponse',
  CHANGE_NOTIFY: 'ConfigChangeNotifyRequest',
  CHANGE_NOTIFY_RESPONSE: 'ConfigChangeNotifyResponse',
} as const;

/** Every config request's `module`. */
export const CONFIG_MODULE = 'config';

/** ConfigQueryResponse's errorCode when the key has no config (`CONFIG_NOT_FOUND`). */
export const CONFIG_NOT_FOUND = 300;

/** A config's name: tenant `''` is the public namespace. */
export interface ConfigKey {
  readonly dataId: string;
  readonly group: string;
  readonly tenant: string;
}

/** The md5 of a key that has no config (Nacos `Constants.NULL`). */
export const ABSENT_MD5 = '';

/** Lower-case hex MD5 of the content's UTF-8 bytes, as Nacos's `MD5Utils.md5Hex(content, "UTF-8")`. */
export function md5Hex(content: string): string {
  return createHash('md5').update(content, 'utf8').digest('hex');
}

/** Nacos's group key (`GroupKey2.getKey`): parts URL-encoded, joined by `+`, no tenant part when public. */
export function groupKey(key: ConfigKey): string {
  const dataAndGroup = `${encodePart(key.dataId)}+${encodePart(key.group)}`;
  return key.tenant === '' ? dataAndGroup : `${dataAndGroup}+${encodePart(key.tenant)}`;
}

// GroupKey2 escapes only '+' and '%', which is all a '+'-joined key needs to stay unambiguous.
// Built on every config read: a part with neither is returned as it is, without two replaces.
function encodePart(part: string): string {
  if (!part.includes('%') && !part.includes('+')) return part;
  return part.replace(/%/g, '%25').replace(/\+/g, '%2B');
}

/** One key a client listens to, with the md5 it holds (`ConfigListenContext`). */
export interface ConfigListenContextJson extends ConfigKey {
  readonly md5: string;
}

/** What a client sends: the request bodies by wire type. */
export interface ConfigRequestBodies {
  readonly ConfigQueryRequest: ConfigKey & { readonly tag?: string };
  readonly ConfigPublishRequest: ConfigKey & {
    readonly content: string;
    readonly casMd5?: string;
    /** `appName`, `type`, `tag`, `betaIps`, `encryptedDataKey`, `src_user`, `desc`, ... */
    readonly additionMap: Readonly<Record<string, string>>;
  };
  readonly ConfigRemoveRequest: ConfigKey & { readonly tag?: string };
  readonly ConfigBatchListenRequest: { readonly listen: boolean; readonly configListenContexts: readonly ConfigListenContextJson[] };
}

/** A config request's wire type. */
export type ConfigRequestType = keyof ConfigRequestBodies;

/** A found config as ConfigQueryResponse carries it. */
export interface ConfigQueryResponseBody {
  readonly content: string;
  readonly md5: string;
  /** Epoch ms; 0 when the server sent none. */
  readonly lastModified: number;
  /** `text` when the server sent none, as Java's client reads it. */
  readonly contentType: string;
  readonly encryptedDataKey?: string;
}

/** A string field; Jackson coerces scalars into String fields, so numbers and booleans are kept as text. */
export function stringField(json: JsonObject, key: string): string | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new InvalidBodyError(`field '${key}' must be a string`);
}

/** An object field (a Java Map or nested class), or an empty object when absent. */
export function objectField(json: JsonObject, key: string): JsonObject {
  const value = json[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidBodyError(`field '${key}' must be an object`);
  return value as JsonObject;
}

/** A successful typed config response. */
export function configResponse(type: string, body: JsonObject = {}): ResponseMessage {
  return { kind: 'response', type, resultCode: 200, errorCode: 0, body };
}

/**
 * A failed typed config response: Nacos's config handlers answer their own type with resultCode
 * 500, never ErrorResponse, which the Java client would retry and escalate.
 */
export function configFailure(type: string, error: unknown, errorCode?: number): ResponseMessage {
  const failure = NacosRemoteError.from(error);
  return { kind: 'response', type, resultCode: 500, errorCode: errorCode ?? failure.errorCode, message: failure.message, body: {} };
}
