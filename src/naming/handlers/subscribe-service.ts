import type { RequestHandler } from '../../server/handlers/index.js';
import { namingBody, namingResponse } from '../messages.js';
import type { NamingState } from '../naming-state.js';
import { serviceNameOf } from '../params.js';

/**
 * SubscribeServiceRequest: subscribes (or, with `subscribe: false`, unsubscribes) the connection
 * and answers the service's instances for its clusters either way, with message "success".
 */
export function subscribeServiceHandler(state: NamingState): RequestHandler {
  return (request, meta) => {
    const body = namingBody(request, 'SubscribeServiceRequest');
    const service = serviceNameOf(body);
    const clusters = body.clusters ?? '';
    const serviceInfo = body.subscribe
      ? state.subscribe(meta.connectionId, service, clusters)
      : state.unsubscribe(meta.connectionId, service, clusters);
    return namingResponse('SubscribeServiceResponse', { serviceInfo }, 'success');
  };
}
