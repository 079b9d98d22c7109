import type { RequestHandler } from '../../server/handlers/index.js';
import { namingBody, namingResponse } from '../../protocol/naming/index.js';
import type { NamingState } from '../naming-state.js';
import { namespaceAndGroupOf } from '../params.js';

/** ServiceListRequest: a page of the namespace's service names in the group (the selector is ignored, as Nacos). */
export function serviceListHandler(state: NamingState): RequestHandler {
  return (request) => {
    const body = namingBody(request, 'ServiceListRequest');
    const { namespace, group } = namespaceAndGroupOf(body);
    const page = state.listServices(namespace, group, body.pageNo, body.pageSize);
    return namingResponse('ServiceListResponse', { count: page.count, serviceNames: page.names }, 'success');
  };
}
