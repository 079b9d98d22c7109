/**
 * The server's naming data as plain values: the instances a client publishes, the read model a
 * ServiceInfo is selected from, and how it is selected (docs/naming.md).
 */

import { DEFAULT_CACHE_MILLIS, groupedName, type InstanceJson, type ServiceInfoJson, type ServiceName } from '../protocol/naming/index.js';

// The wire shapes are defined once, below both sides; the server's model speaks them.
export {
  DEFAULT_NAMESPACE,
  DEFAULT_GROUP,
  DEFAULT_CLUSTER,
  groupedName,
  groupedNameProblem,
  type InstanceJson,
  type ServiceInfoJson,
  type ServiceName,
} from '../protocol/naming/index.js';

/** A map key unique per service: its three fields, not the grouped name, which two services can share. */
export function serviceKey(service: ServiceName): string {
  return `${service.namespace}\u0000${service.group}\u0000${service.name}`;
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

/**
 * What tells a service's hosts apart: equal instances are one host, listed once, as Nacos's HashSet
 * of Instance does (the same process seen through its old and new connection).
 */
export function hostIdentity(host: InstanceJson): string {
  return JSON.stringify(host);
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
export function selectServiceInfo(snapshot: ServiceSnapshot, selection: InstanceSelection, lastRefTime: number): ServiceInfoJson {
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
    lastRefTime,
    checksum: '',
    allIPs: false,
    reachProtectionThreshold: false,
    valid: true,
  };
}
