import { ErrorCode, type RequestMessage, type ResponseMessage } from '../../protocol/index.js';
import type { RequestHandler } from '../../server/handlers/index.js';
import { ConfigErrorCode, InvalidConfigParamError } from '../errors.js';
import type { ConfigService } from '../service.js';
import { configFailure, configResponse, ConfigTypes, stringField } from '../../protocol/config/index.js';

/** ConfigQueryRequest: the content with md5, lastModified and type; 300 when absent. */
export function configQueryHandler(service: ConfigService): RequestHandler {
  return async (request: RequestMessage): Promise<ResponseMessage> => {
    const type = ConfigTypes.QUERY_RESPONSE;
    try {
      const body = request.body;
      const record = await service.query({
        dataId: stringField(body, 'dataId'),
        group: stringField(body, 'group'),
        tenant: stringField(body, 'tenant'),
        tag: stringField(body, 'tag'),
      });
      if (record === undefined) return configFailure(type, 'config data not exist', ConfigErrorCode.NOT_FOUND);
      return configResponse(type, {
        content: record.content,
        encryptedDataKey: record.encryptedDataKey,
        contentType: record.type ?? 'text',
        md5: record.md5,
        lastModified: record.modifiedAt,
        beta: false,
      });
    } catch (error) {
      // 400 on a query means "being modified, retry" to a Java client: bad names answer 500.
      return configFailure(type, error, error instanceof InvalidConfigParamError ? ErrorCode.SERVER_ERROR : undefined);
    }
  };
}
