import type { RequestHandler } from '../../server/handlers/index.js';
import type { NamingRequestType } from '../messages.js';
import type { NamingState } from '../naming-state.js';
import { batchInstanceHandler } from './batch-instance.js';
import { instanceHandler } from './instance.js';
import { serviceListHandler } from './service-list.js';
import { serviceQueryHandler } from './service-query.js';
import { subscribeServiceHandler } from './subscribe-service.js';

/** The naming module's request handlers, keyed by wire type name. */
export function namingHandlers(state: NamingState): Record<NamingRequestType, RequestHandler> {
  return {
    InstanceRequest: instanceHandler(state),
    BatchInstanceRequest: batchInstanceHandler(state),
    ServiceQueryRequest: serviceQueryHandler(state),
    SubscribeServiceRequest: subscribeServiceHandler(state),
    ServiceListRequest: serviceListHandler(state),
  };
}
