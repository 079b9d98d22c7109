/**
 * Config's answers and push as a client reads them (docs/config.md). The server reads its
 * requests field by field in its handlers (src/config/handlers).
 */
import { InvalidBodyError } from '../errors.js';
import { FieldReader } from '../fields.js';
import type { JsonObject } from '../messages.js';
import { defineRequestType, defineResponseType } from '../message-types.js';
import { CONFIG_MODULE, type ConfigKey, type ConfigQueryResponseBody } from './wire.js';

function parseKey(json: JsonObject, path: string): ConfigKey {
  const fields = new FieldReader(json, path);
  const dataId = fields.string('dataId');
  const group = fields.string('group');
  if (dataId === undefined || group === undefined) throw new InvalidBodyError(`fields '${path}dataId' and '${path}group' are required`);
  return { dataId, group, tenant: fields.string('tenant') ?? '' };
}

function parseQueryResponse(json: JsonObject): ConfigQueryResponseBody {
  const fields = new FieldReader(json, '');
  const encryptedDataKey = fields.string('encryptedDataKey');
  const contentType = fields.string('contentType');
  return {
    content: fields.string('content') ?? '',
    md5: fields.string('md5') ?? '',
    lastModified: fields.number('lastModified') ?? 0,
    contentType: contentType === undefined || contentType.trim() === '' ? 'text' : contentType,
    ...(encryptedDataKey === undefined ? {} : { encryptedDataKey }),
  };
}

const empty = (): Record<string, never> => ({});

/**
 * Config's message types a client registers (and the server its query): the requests it sends (module "config", as Java's
 * AbstractConfigRequest says; bodies as the client builds them), the answers it reads and the
 * push it is sent.
 */
export const ConfigMessages = {
  /**
   * A server reads the four fields its handler reads, picked as they came (the handler checks
   * them): the generic parser copies every key of the body, a measurable share of a query.
   */
  ConfigQueryRequest: defineRequestType('ConfigQueryRequest', {
    module: CONFIG_MODULE,
    parseBody: (json) => ({ dataId: json['dataId'], group: json['group'], tenant: json['tenant'], tag: json['tag'] }),
  }),
  ConfigPublishRequest: defineRequestType('ConfigPublishRequest', { module: CONFIG_MODULE }),
  ConfigRemoveRequest: defineRequestType('ConfigRemoveRequest', { module: CONFIG_MODULE }),
  ConfigBatchListenRequest: defineRequestType('ConfigBatchListenRequest', { module: CONFIG_MODULE }),
  ConfigQueryResponse: defineResponseType('ConfigQueryResponse', { parseBody: parseQueryResponse }),
  ConfigPublishResponse: defineResponseType('ConfigPublishResponse', { parseBody: empty }),
  ConfigRemoveResponse: defineResponseType('ConfigRemoveResponse', { parseBody: empty }),
  ConfigChangeBatchListenResponse: defineResponseType('ConfigChangeBatchListenResponse', {
    parseBody: (json) => ({
      changedConfigs: (new FieldReader(json, '').objects('changedConfigs') ?? []).map((item, i) => parseKey(item, `changedConfigs[${i}].`)),
    }),
  }),
  ConfigChangeNotifyRequest: defineRequestType('ConfigChangeNotifyRequest', { module: CONFIG_MODULE, parseBody: (json) => parseKey(json, '') }),
  ConfigChangeNotifyResponse: defineResponseType('ConfigChangeNotifyResponse', { parseBody: empty }),
} as const;
