import { InvalidBodyError, NacosRemoteError, type JsonObject, type ResponseMessage } from '../../protocol/index.js';

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
