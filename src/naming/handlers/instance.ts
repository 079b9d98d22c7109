import type { RequestHandler } from '../../server/handlers/index.js';
import { NamingParamError } from '../errors.js';
import { InstanceOperation, namingBody, namingResponse } from '../messages.js';
import type { NamingState } from '../naming-state.js';
import { publishedInstanceOf, serviceNameOf } from '../params.js';

/**
 * InstanceRequest: register (replacing the connection's instance of the service) or deregister
 * (its instance of the service, whatever ip/port the request names). Answers InstanceResponse
 * with the operation echoed.
 */
export function instanceHandler(state: NamingState): RequestHandler {
  return (request, meta) => {
    const body = namingBody(request, 'InstanceRequest');
    const service = serviceNameOf(body);
    switch (body.type) {
      case InstanceOperation.REGISTER:
        state.register(meta.connectionId, service, publishedInstanceOf(body.instance, 'instance'));
        break;
      case InstanceOperation.DEREGISTER:
        state.deregister(meta.connectionId, service);
        break;
      default:
        throw new NamingParamError(`Unsupported request type ${body.type ?? 'null'}`);
    }
    return namingResponse('InstanceResponse', { type: body.type });
  };
}
