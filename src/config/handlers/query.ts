import { ErrorCode, type RequestMessage, type ResponseMessage } from '../../protocol/index.js';
import { constantReply } from '../../server/acceptors/unary-acceptor.js';
import type { RequestHandler } from '../../server/handlers/index.js';
import { ConfigErrorCode, InvalidConfigParamError } from '../errors.js';
import type { ConfigService } from '../service.js';
import type { ConfigRecord } from '../store/types.js';
import { CONFIG_MODULE, configFailure, configResponse, ConfigTypes, stringField } from '../../protocol/config/index.js';

const NOT_FOUND = constantReply(configFailure(ConfigTypes.QUERY_RESPONSE, 'config data not exist', ConfigErrorCode.NOT_FOUND));

/** 400 on a query means "being modified, retry" to a Java client: bad names answer 500. */
function queryFailure(error: unknown): ResponseMessage {
  return configFailure(ConfigTypes.QUERY_RESPONSE, error, error instanceof InvalidConfigParamError ? ErrorCode.SERVER_ERROR : undefined);
}

/**
 * ConfigQueryRequest: the content with md5, lastModified and type; 300 when absent. Synchronous
 * when the store has the key at hand. A stored record never changes (a publish stores a new one),
 * so its answer is a constant, kept as long as the record: the acceptor encodes it once.
 */
export function configQueryHandler(service: ConfigService): RequestHandler {
  const answers = new WeakMap<ConfigRecord, ResponseMessage>();
  const answer = (record: ConfigRecord | undefined): ResponseMessage => {
    if (record === undefined) return NOT_FOUND;
    let reply = answers.get(record);
    if (reply === undefined) {
      reply = constantReply(
        configResponse(ConfigTypes.QUERY_RESPONSE, {
          content: record.content,
          encryptedDataKey: record.encryptedDataKey,
          contentType: record.type ?? 'text',
          md5: record.md5,
          lastModified: record.modifiedAt,
          beta: false,
        }),
      );
      answers.set(record, reply);
    }
    return reply;
  };
  return (request: RequestMessage): ResponseMessage | Promise<ResponseMessage> => {
    try {
      const body = request.body;
      const found = service.query({
        dataId: stringField(body, 'dataId'),
        group: stringField(body, 'group'),
        tenant: stringField(body, 'tenant'),
        tag: stringField(body, 'tag'),
      });
      return found instanceof Promise ? found.then(answer, queryFailure) : answer(found);
    } catch (error) {
      return queryFailure(error);
    }
  };
}
