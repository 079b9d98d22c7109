/**
 * The naming client's local view of the services it reads: the latest ServiceInfo per service and
 * cluster selection, kept by answers and pushes, and the listeners told when instances change
 * (Java 2.2.4's `ServiceInfoHolder` and `InstancesChangeNotifier`).
 */
import { groupedName, GROUP_SEPARATOR, type InstanceJson, type ServiceInfoJson } from '../protocol/naming/index.js';

/** What a listener is told: the service and its instances as they are now (every cluster selected, unhealthy included). */
export interface InstancesChangeEvent {
  readonly serviceName: string;
  readonly groupName: string;
  /** The comma-separated cluster selection of the subscription; `''` for all. */
  readonly clusters: string;
  readonly instances: readonly InstanceJson[];
}

/** Called with the new instance list whenever a subscribed service's instances change. */
export type InstancesListener = (event: InstancesChangeEvent) => void;

/** Nacos's `ServiceInfo.getKey`: `group@@name`, then `@@clusters` when clusters are selected. */
export function serviceInfoKey(groupName: string, serviceName: string, clusters: string): string {
  const grouped = groupedName({ group: groupName, name: serviceName });
  return clusters === '' ? grouped : `${grouped}${GROUP_SEPARATOR}${clusters}`;
}

/** A host's identity in a service (Java's `Instance.toInetAddr`). */
function address(host: InstanceJson): string {
  return `${host.ip}:${host.port}`;
}

/** The host as a comparable string, metadata order aside. */
function fingerprint(host: InstanceJson): string {
  const metadata = Object.fromEntries(Object.entries(host.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ ...host, metadata });
}

/** Java's `isChangedServiceInfo` without its logging: a host added, removed or modified. */
function hostsChanged(before: readonly InstanceJson[], after: readonly InstanceJson[]): boolean {
  if (before.length !== after.length) return true;
  const old = new Map(before.map((host) => [address(host), fingerprint(host)]));
  return after.some((host) => old.get(address(host)) !== fingerprint(host));
}

export class ServiceInfoCache {
  private readonly infos = new Map<string, ServiceInfoJson>();
  private readonly listeners = new Map<string, InstancesListener[]>();
  /** Keys whose cached ServiceInfo came from an earlier server: its clock says nothing about the next one's. */
  private readonly fromEarlierServer = new Set<string>();

  constructor(private readonly onListenerError: (error: unknown, key: string) => void) {}

  get(key: string): ServiceInfoJson | undefined {
    return this.infos.get(key);
  }

  /**
   * Takes a ServiceInfo from an answer or a push and tells the key's listeners if its hosts
   * changed. One older than the cached one (`lastRefTime`) from the same server is dropped:
   * pushes and answers may cross. Returns whether the hosts changed.
   */
  apply(info: ServiceInfoJson): boolean {
    const key = serviceInfoKey(info.groupName, info.name, info.clusters ?? '');
    const cached = this.infos.get(key);
    if (cached !== undefined && !this.fromEarlierServer.has(key) && cached.lastRefTime > info.lastRefTime) return false;
    this.fromEarlierServer.delete(key);
    this.infos.set(key, info);
    if (cached !== undefined && !hostsChanged(cached.hosts, info.hosts)) return false;
    this.notify(key, info, this.listeners.get(key) ?? []);
    return true;
  }

  /** Adds a listener; if the service is cached it is told the current instances at once. */
  addListener(key: string, listener: InstancesListener): void {
    this.listeners.set(key, [...(this.listeners.get(key) ?? []), listener]);
    const cached = this.infos.get(key);
    if (cached !== undefined) this.notify(key, cached, [listener]);
  }

  /** Removes a listener (its latest addition); returns how many the key still has. */
  removeListener(key: string, listener: InstancesListener): number {
    const remaining = [...(this.listeners.get(key) ?? [])];
    const index = remaining.lastIndexOf(listener);
    if (index >= 0) remaining.splice(index, 1);
    if (remaining.length === 0) this.listeners.delete(key);
    else this.listeners.set(key, remaining);
    return remaining.length;
  }

  /** A new connection: the next ServiceInfo of each service is taken whatever its time (members' clocks differ). */
  serverChanged(): void {
    for (const key of this.infos.keys()) this.fromEarlierServer.add(key);
  }

  /** Forgets a service no longer subscribed, so reads go to the server. */
  delete(key: string): void {
    this.infos.delete(key);
    this.fromEarlierServer.delete(key);
  }

  clear(): void {
    this.infos.clear();
    this.listeners.clear();
    this.fromEarlierServer.clear();
  }

  private notify(key: string, info: ServiceInfoJson, listeners: readonly InstancesListener[]): void {
    const event: InstancesChangeEvent = { serviceName: info.name, groupName: info.groupName, clusters: info.clusters ?? '', instances: info.hosts };
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error, key);
      }
    }
  }
}
