import type { ClientServiceIndex } from './client-index.js';
import { hostIdentity, serviceKey, toInstanceJson, type InstanceJson, type ServiceName, type ServiceSnapshot } from './model.js';
import type { NamingClient } from './naming-client.js';

/**
 * The read model (Nacos `ServiceStorage`): each service's instances gathered from its
 * publishers, built when first read after a change and kept until the next change.
 */
export class ServiceStorage {
  private readonly snapshots = new Map<string, ServiceSnapshot>();
  private readonly revisions = new Map<string, number>();
  /** One counter for all services, so a service that empties and comes back never reuses a revision. */
  private lastRevision = 0;

  constructor(
    private readonly index: ClientServiceIndex,
    private readonly clientOf: (clientId: string) => NamingClient | undefined,
    private readonly now: () => number,
  ) {}

  /** The service's instances now; an empty snapshot for a service nobody publishes. */
  get(service: ServiceName): ServiceSnapshot {
    const key = serviceKey(service);
    const cached = this.snapshots.get(key);
    if (cached !== undefined) return cached;
    const hosts: InstanceJson[] = [];
    // Equal instances are listed once, as Nacos's HashSet of Instance does: the same process seen
    // through its old and new connection (a move, or a member gone before its clients expire).
    const seen = new Set<string>();
    for (const clientId of this.index.publishersOf(key)) {
      const publication = this.clientOf(clientId)?.publication(key);
      if (publication === undefined) continue;
      for (const instance of publication.instances) {
        const host = toInstanceJson(service, instance);
        const identity = hostIdentity(host);
        if (seen.has(identity)) continue;
        seen.add(identity);
        hosts.push(host);
      }
    }
    const snapshot: ServiceSnapshot = { service, hosts, revision: this.revisions.get(key) ?? 0, builtAt: this.now() };
    // An unknown service is not cached: the map holds only services that exist.
    if (this.index.publishersOf(key).size > 0) this.snapshots.set(key, snapshot);
    return snapshot;
  }

  /** The service's publishers changed: its next read is rebuilt under a new revision. */
  changed(service: ServiceName): void {
    const key = serviceKey(service);
    this.snapshots.delete(key);
    if (this.index.publishersOf(key).size === 0) this.revisions.delete(key);
    else this.revisions.set(key, ++this.lastRevision);
  }

  /** Instances across every published service. */
  get instanceCount(): number {
    let n = 0;
    for (const service of this.index.allServices()) n += this.get(service).hosts.length;
    return n;
  }
}
