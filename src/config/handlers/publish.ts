import type { RequestMessage, ResponseMessage } from '../../protocol/index.js';
import type { RequestHandler, RequestMeta } from '../../server/handlers/index.js';
import type { ConfigService } from '../service.js';
import { configFailure, configResponse, ConfigTypes, objectField, stringField } from '../../protocol/config/index.js';

/** ConfigPublishRequest: stores the config (CAS with casMd5) and notifies listeners. */
export function configPublishHandler(service: ConfigService): RequestHandler {
  return async (request: RequestMessage, meta: RequestMeta): Promise<ResponseMessage> => {
    try {
      const body = request.body;
      const addition = objectField(body, 'additionMap');
      await service.publish({
        dataId: stringField(body, 'dataId'),
        group: stringField(body, 'group'),
        tenant: stringField(body, 'tenant'),
        content: stringField(body, 'content'),
        casMd5: stringField(body, 'casMd5'),
        tag: stringField(addition, 'tag'),
        betaIps: stringField(addition, 'betaIps'),
        appName: stringField(addition, 'appName'),
        type: stringField(addition, 'type'),
        desc: stringField(addition, 'desc'),
        use: stringField(addition, 'use'),
        effect: stringField(addition, 'effect'),
        schema: stringField(addition, 'schema'),
        encryptedDataKey: stringField(addition, 'encryptedDataKey'),
        srcUser: stringField(addition, 'src_user'),
        srcIp: meta.clientIp,
      });
      return configResponse(ConfigTypes.PUBLISH_RESPONSE);
    } catch (error) {
      return configFailure(ConfigTypes.PUBLISH_RESPONSE, error);
    }
  };
}
