import type { RequestMessage, ResponseMessage } from '../../protocol/index.js';
import type { RequestHandler, RequestMeta } from '../../server/handlers/index.js';
import type { ConfigService } from '../service.js';
import { configFailure, configResponse, ConfigTypes, stringField } from '../../protocol/config/index.js';

/** ConfigRemoveRequest: removes the config (absent is success) and notifies listeners. */
export function configRemoveHandler(service: ConfigService): RequestHandler {
  return async (request: RequestMessage, meta: RequestMeta): Promise<ResponseMessage> => {
    try {
      const body = request.body;
      await service.remove({
        dataId: stringField(body, 'dataId'),
        group: stringField(body, 'group'),
        tenant: stringField(body, 'tenant'),
        tag: stringField(body, 'tag'),
        srcIp: meta.clientIp,
      });
      return configResponse(ConfigTypes.REMOVE_RESPONSE);
    } catch (error) {
      return configFailure(ConfigTypes.REMOVE_RESPONSE, error);
    }
  };
}
