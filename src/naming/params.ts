import { NamingParamError } from './errors.js';
import type { InstanceInput, NamingRequestBody } from '../protocol/naming/index.js';
import {
  DEFAULT_CLUSTER,
  DEFAULT_GROUP,
  DEFAULT_NAMESPACE,
  groupedNameProblem,
  instanceTiming,
  PreservedMetadata,
  type PublishedInstance,
  type ServiceName,
} from './model.js';

const CLUSTER_NAME = /^[0-9a-zA-Z-]+$/;

function blank(value: string | undefined): value is undefined | '' {
  return value === undefined || value.trim() === '';
}

/** The namespace and group a request names; blank (or whitespace) ones take Nacos's defaults. */
export function namespaceAndGroupOf(body: Pick<NamingRequestBody, 'namespace' | 'groupName'>): Pick<ServiceName, 'namespace' | 'group'> {
  return {
    namespace: blank(body.namespace) ? DEFAULT_NAMESPACE : body.namespace,
    group: blank(body.groupName) ? DEFAULT_GROUP : body.groupName,
  };
}

/** The service a request names; blank namespace and group take Nacos's defaults. @throws NamingParamError */
export function serviceNameOf(body: NamingRequestBody): ServiceName {
  if (blank(body.serviceName)) throw new NamingParamError("Param 'serviceName' is illegal, serviceName is blank");
  const service = { ...namespaceAndGroupOf(body), name: body.serviceName };
  const problem = groupedNameProblem(service);
  if (problem !== undefined) throw new NamingParamError(problem);
  return service;
}

/**
 * An instance as it will be published, with Nacos's defaults and its `checkInstanceIsLegal`
 * checks. `field` names the instance in messages. @throws NamingParamError
 */
export function publishedInstanceOf(input: InstanceInput | undefined, field: string): PublishedInstance {
  if (input === undefined) throw new NamingParamError(`Param '${field}' is required`);
  if (blank(input.ip)) throw new NamingParamError(`Param '${field}.ip' is required`);
  const port = input.port ?? 0;
  if (port < 0 || port > 65535) throw new NamingParamError(`Param '${field}.port' must be between 0 and 65535 (current: ${port})`);
  const weight = input.weight ?? 1;
  if (weight < 0) throw new NamingParamError(`Param '${field}.weight' must not be negative (current: ${weight})`);
  const clusterName = blank(input.clusterName) ? DEFAULT_CLUSTER : input.clusterName;
  if (!CLUSTER_NAME.test(clusterName)) {
    throw new NamingParamError(`Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: ${clusterName})`);
  }
  const metadata = input.metadata ?? {};
  const interval = instanceTiming(metadata, PreservedMetadata.HEART_BEAT_INTERVAL);
  if (
    instanceTiming(metadata, PreservedMetadata.HEART_BEAT_TIMEOUT) < interval ||
    instanceTiming(metadata, PreservedMetadata.IP_DELETE_TIMEOUT) < interval
  ) {
    throw new NamingParamError("Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.");
  }
  return {
    ip: input.ip,
    port,
    weight,
    healthy: input.healthy ?? true,
    enabled: input.enabled ?? true,
    clusterName,
    metadata,
    ...(blank(input.instanceId) ? {} : { instanceId: input.instanceId }),
  };
}
