import type { RequestHandler } from '../../server/handlers/index.js';
import { namingBody, namingResponse } from '../messages.js';
import { DEFAULT_GROUP, DEFAULT_NAMESPACE } from '../model.js';
import type { NamingState } from '../naming-state.js';

/** ServiceListRequest: a page of the namespace's service names in the group (the selector is ignored, as Nacos). */
export function serviceListHandler(state: NamingState): RequestHandler {
  return (request) => {
    const body = namingBody(request, 'ServiceListRequest');
    const page = state.listServices(body.namespace || DEFAULT_NAMESPACE, body.groupName || DEFAULT_GROUP, body.pageNo, body.pageSize);
    return namingResponse('ServiceListResponse', { count: page.count, serviceNames: page.names }, 'success');
  };
}
