import type { RequestHandler } from '../../server/handlers/index.js';
import { namingBody, namingResponse } from '../messages.js';
import type { NamingState } from '../naming-state.js';
import { serviceNameOf } from '../params.js';

/** ServiceQueryRequest: the service's enabled instances of the asked clusters, healthy only when asked. */
export function serviceQueryHandler(state: NamingState): RequestHandler {
  return (request) => {
    const body = namingBody(request, 'ServiceQueryRequest');
    // Nacos turns a null cluster into "", so the answer's `clusters` is always present.
    const serviceInfo = state.query(serviceNameOf(body), { clusters: body.cluster ?? '', healthyOnly: body.healthyOnly });
    return namingResponse('QueryServiceResponse', { serviceInfo });
  };
}
