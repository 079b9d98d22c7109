import { InvalidBodyError, type JsonObject, type RequestMessage, type ResponseMessage } from '../../protocol/index.js';
import type { RequestHandler, RequestMeta } from '../../server/handlers/index.js';
import type { ConfigService, ListenParams } from '../service.js';
import { configFailure, configResponse, ConfigTypes, stringField } from '../../protocol/config/index.js';

function listenContexts(body: JsonObject): ListenParams[] {
  const value = body['configListenContexts'];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidBodyError("field 'configListenContexts' must be a list");
  return value.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidBodyError(`configListenContexts[${index}] must be an object`);
    }
    const context = item as JsonObject;
    return {
      dataId: stringField(context, 'dataId'),
      group: stringField(context, 'group'),
      tenant: stringField(context, 'tenant'),
      md5: stringField(context, 'md5'),
    };
  });
}

/**
 * ConfigBatchListenRequest: `listen: true` (the default) records the keys for this connection and
 * names those whose md5 differs in `changedConfigs`; `listen: false` drops them.
 */
export function configBatchListenHandler(service: ConfigService): RequestHandler {
  return async (request: RequestMessage, meta: RequestMeta): Promise<ResponseMessage> => {
    try {
      const listen = request.body['listen'] !== false;
      const changed = await service.listen(meta.connectionId, listenContexts(request.body), listen);
      return configResponse(ConfigTypes.BATCH_LISTEN_RESPONSE, {
        changedConfigs: changed.map((key) => ({ group: key.group, dataId: key.dataId, tenant: key.tenant })),
      });
    } catch (error) {
      return configFailure(ConfigTypes.BATCH_LISTEN_RESPONSE, error);
    }
  };
}
