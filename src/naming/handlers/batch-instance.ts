import type { RequestHandler } from '../../server/handlers/index.js';
import { NamingParamError } from '../errors.js';
import { InstanceOperation, namingBody, namingResponse } from '../messages.js';
import type { NamingState } from '../naming-state.js';
import { publishedInstanceOf, serviceNameOf } from '../params.js';

/** BatchInstanceRequest: replaces the connection's instances of the service (there is no batch deregister). */
export function batchInstanceHandler(state: NamingState): RequestHandler {
  return (request, meta) => {
    const body = namingBody(request, 'BatchInstanceRequest');
    const service = serviceNameOf(body);
    if (body.type !== InstanceOperation.BATCH_REGISTER) throw new NamingParamError(`Unsupported request type ${body.type ?? 'null'}`);
    if (body.instances === undefined) throw new NamingParamError("Param 'instances' is required");
    const instances = body.instances.map((instance, i) => publishedInstanceOf(instance, `instances[${i}]`));
    state.batchRegister(meta.connectionId, service, instances);
    return namingResponse('BatchInstanceResponse', { type: body.type });
  };
}
