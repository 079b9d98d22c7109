/**
 * Naming data as plain values: service names, the instances a client publishes, and the wire
 * shapes of Nacos's `Instance` and `ServiceInfo` (docs/naming.md).
 */

export const DEFAULT_NAMESPACE = 'public';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_CLUSTER = 'DEFAULT';
/** Nacos's `SERVICE_INFO_SPLITER`, between group and service in a grouped name. */
export const GROUP_SEPARATOR = '@@';
/** `switchDomain.defaultPushCacheMillis` of a Nacos 2.2.4 server. */
export const DEFAULT_CACHE_MILLIS = 10_000;

/** A service: namespace, group and name, all non-blank. */
export interface ServiceName {
  readonly namespace: string;
  readonly group: string;
  readonly name: string;
}

/** `group@@name`, as Nacos's `NamingUtils.getGroupedName`. */
export function groupedName(service: ServiceName): string {
  return `${service.group}${GROUP_SEPARATOR}${service.name}`;
}

/** A map key unique per service (namespace included). */
export function serviceKey(service: ServiceName): string {
  return `${service.namespace}\u0000${groupedName(service)}`;
}

/** One instance as a client published it (Nacos `InstancePublishInfo`). */
export interface PublishedInstance {
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly clusterName: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Only when the client chose one; the server does not make one up over gRPC. */
  readonly instanceId?: string;
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

/** Metadata keys Nacos reads instance timings from (`PreservedMetadataKeys`). */
export const PreservedMetadata = {
  HEART_BEAT_INTERVAL: 'preserved.heart.beat.interval',
  HEART_BEAT_TIMEOUT: 'preserved.heart.beat.timeout',
  IP_DELETE_TIMEOUT: 'preserved.ip.delete.timeout',
  INSTANCE_ID_GENERATOR: 'preserved.instance.id.generator',
} as const;

const TIMING_DEFAULTS = {
  [PreservedMetadata.HEART_BEAT_INTERVAL]: 5000,
  [PreservedMetadata.HEART_BEAT_TIMEOUT]: 15_000,
  [PreservedMetadata.IP_DELETE_TIMEOUT]: 30_000,
} as const;

/** A timing from metadata when it is all digits, else Nacos's default. */
export function instanceTiming(metadata: Readonly<Record<string, string>>, key: keyof typeof TIMING_DEFAULTS): number {
  const value = metadata[key];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : TIMING_DEFAULTS[key];
}

/** The API instance Nacos's `InstanceUtil.parseToApiInstance` builds, with Instance's derived getters. */
export function toInstanceJson(service: ServiceName, instance: PublishedInstance): InstanceJson {
  const { metadata } = instance;
  const hasMetadata = Object.keys(metadata).length > 0;
  // Instance.getInstanceIdGenerator: the default only when metadata is empty, else the key's value.
  const generator = hasMetadata ? metadata[PreservedMetadata.INSTANCE_ID_GENERATOR] : 'simple';
  return {
    ...(instance.instanceId === undefined ? {} : { instanceId: instance.instanceId }),
    ip: instance.ip,
    port: instance.port,
    weight: instance.weight,
    healthy: instance.healthy,
    enabled: instance.enabled,
    ephemeral: true,
    clusterName: instance.clusterName,
    serviceName: groupedName(service),
    metadata,
    instanceHeartBeatInterval: instanceTiming(metadata, PreservedMetadata.HEART_BEAT_INTERVAL),
    instanceHeartBeatTimeOut: instanceTiming(metadata, PreservedMetadata.HEART_BEAT_TIMEOUT),
    ipDeleteTimeout: instanceTiming(metadata, PreservedMetadata.IP_DELETE_TIMEOUT),
    ...(generator === undefined ? {} : { instanceIdGenerator: generator }),
  };
}

/** How a reader selects from a service's instances (query, subscribe, push). */
export interface InstanceSelection {
  /** Comma-separated cluster names; blank or absent means all clusters. Echoed as `clusters`. */
  readonly clusters?: string;
  /** Leave out unhealthy instances (queries only; subscribers filter on their side). */
  readonly healthyOnly: boolean;
}

/** A service's instances as of a revision: the read model a ServiceInfo is selected from. */
export interface ServiceSnapshot {
  readonly service: ServiceName;
  readonly hosts: readonly InstanceJson[];
  /** Bumped on every change of the service's publishers. */
  readonly revision: number;
  /** When the snapshot was built (epoch ms). */
  readonly builtAt: number;
}

/**
 * Nacos's `ServiceUtil.selectInstancesWithHealthyProtection` without the protection threshold
 * (which needs service metadata that gRPC clients never create): enabled instances of the chosen
 * clusters, healthy ones only when asked.
 */
export function selectServiceInfo(snapshot: ServiceSnapshot, selection: InstanceSelection, now: number): ServiceInfoJson {
  const clusters = selection.clusters?.trim() ? new Set(selection.clusters.split(',')) : undefined;
  const hosts = snapshot.hosts.filter(
    (host) => host.enabled && (clusters === undefined || clusters.has(host.clusterName)) && (!selection.healthyOnly || host.healthy),
  );
  return {
    name: snapshot.service.name,
    groupName: snapshot.service.group,
    ...(selection.clusters === undefined ? {} : { clusters: selection.clusters }),
    cacheMillis: DEFAULT_CACHE_MILLIS,
    hosts,
    lastRefTime: now,
    checksum: '',
    allIPs: false,
    reachProtectionThreshold: false,
    valid: true,
  };
}
