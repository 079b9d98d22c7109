/**
 * Naming's wire shapes (docs/naming.md), shared by the server (src/naming) and the SDK
 * (src/client): service names, Nacos's `Instance` and `ServiceInfo` as Jackson writes them, and
 * the request bodies.
 */

/** `module` of every naming request and push. */
export const NAMING_MODULE = 'naming';

/** The namespace of a request that names none. */
export const DEFAULT_NAMESPACE = 'public';
/** The group of a request that names none. */
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
/** The cluster of an instance that names none. */
export const DEFAULT_CLUSTER = 'DEFAULT';
/** Nacos's `SERVICE_INFO_SPLITER`, between group and service in a grouped name. */
export const GROUP_SEPARATOR = '@@';
/** `switchDomain.defaultPushCacheMillis` of a Nacos 2.2.4 server. */
export const DEFAULT_CACHE_MILLIS = 10_000;

/** `InstanceRequest.type` / `BatchInstanceRequest.type` values (Nacos `NamingRemoteConstants`). */
export const InstanceOperation = {
  REGISTER: 'registerInstance',
  DEREGISTER: 'deregisterInstance',
  BATCH_REGISTER: 'batchRegisterInstance',
} as const;

/** A service: namespace, group and name, all non-blank. */
export interface ServiceName {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
}

/**
 * Why a group and service name cannot stand together in a grouped name, or undefined when they
 * can. `group@@name` is the key a client matches answers and pushes by, so it must split one way
 * only: no `@@` in either, no `@` ending the group nor starting the name (else `a@`/`b` and
 * `a`/`@b` spell the same). Nacos 2.2.4 takes such names; 2.3's parameter check refuses them.
 */
export function groupedNameProblem(service: Pick<ServiceName, 'group' | 'name'>): string | undefined {
  if (service.group.includes(GROUP_SEPARATOR) || service.group.endsWith('@')) {
    return `Param 'groupName' is illegal, it must not contain '${GROUP_SEPARATOR}' nor end with '@' (current: ${service.group})`;
  }
  if (service.name.includes(GROUP_SEPARATOR) || service.name.startsWith('@')) {
    return `Param 'serviceName' is illegal, it must not contain '${GROUP_SEPARATOR}' nor start with '@' (current: ${service.name})`;
  }
  return undefined;
}

/** `group@@name`, as Nacos's `NamingUtils.getGroupedName`. */
export function groupedName(service: Pick<ServiceName, 'group' | 'name'>): string {
  return `${service.group}${GROUP_SEPARATOR}${service.name}`;
}

/** Nacos's `Instance` as Jackson writes it (null fields absent). */
export interface InstanceJson {
  readonly instanceId?: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly clusterName: string;
  readonly serviceName: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly instanceHeartBeatInterval: number;
  readonly instanceHeartBeatTimeOut: number;
  readonly ipDeleteTimeout: number;
  readonly instanceIdGenerator?: string;
}

/** Nacos's `ServiceInfo` as Jackson writes it. */
export interface ServiceInfoJson {
  readonly name: string;
  readonly groupName: string;
  readonly clusters?: string;
  readonly cacheMillis: number;
  readonly hosts: readonly InstanceJson[];
  readonly lastRefTime: number;
  readonly checksum: string;
  readonly allIPs: boolean;
  readonly reachProtectionThreshold: boolean;
  readonly valid: boolean;
}

/** An `Instance` as a client sent it: each field may be absent; shapes are checked, values are not. */
export interface InstanceInput {
  readonly instanceId?: string;
  readonly ip?: string;
  readonly port?: number;
  readonly weight?: number;
  readonly healthy?: boolean;
  readonly enabled?: boolean;
  readonly ephemeral?: boolean;
  readonly clusterName?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** `AbstractNamingRequest`'s fields, on every naming request. */
export interface NamingRequestBody {
  readonly namespace?: string;
  readonly serviceName?: string;
  readonly groupName?: string;
}

/** The own fields of each naming request type. */
export interface NamingRequestBodies {
  InstanceRequest: NamingRequestBody & { readonly type?: string; readonly instance?: InstanceInput };
  BatchInstanceRequest: NamingRequestBody & { readonly type?: string; readonly instances?: readonly InstanceInput[] };
  ServiceQueryRequest: NamingRequestBody & { readonly cluster?: string; readonly healthyOnly: boolean; readonly udpPort: number };
  SubscribeServiceRequest: NamingRequestBody & { readonly subscribe: boolean; readonly clusters?: string };
  ServiceListRequest: NamingRequestBody & { readonly pageNo: number; readonly pageSize: number; readonly selector?: string };
}

export type NamingRequestType = keyof NamingRequestBodies;
