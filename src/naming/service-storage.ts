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
  /** Per service with a publisher or subscriber: the revision its latest view showed, and that view's lastRefTime. */
  private readonly views = new Map<string, { revision: number; lastRefTime: number }>();

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

  /**
   * The lastRefTime of a view (an answer or a push) of the snapshot: a view of a newer revision is
   * strictly newer than every earlier view of the service, whatever the wall clock did, as
   * nacos-sdk-go drops a push not newer than what it holds (a subscribe's answer and a push that
   * merged a change made just after it can share a millisecond). Views of one revision share their
   * time: a client dropping the second drops what it already has. Past the wall clock only by the
   * service's changes within a millisecond.
   */
  lastRefTimeOf(snapshot: ServiceSnapshot): number {
    const key = serviceKey(snapshot.service);
    const latest = this.views.get(key);
    if (latest !== undefined && latest.revision === snapshot.revision) return latest.lastRefTime;
    const lastRefTime = latest === undefined ? this.now() : Math.max(this.now(), latest.lastRefTime + 1);
    // A service nobody publishes or subscribes to has no view to be newer than.
    if (this.index.has(key)) this.views.set(key, { revision: snapshot.revision, lastRefTime });
    return lastRefTime;
  }

  /** The service's last publisher and subscriber left: nobody holds a view of it. */
  forget(key: string): void {
    this.views.delete(key);
  }

  /** Instances across every published service. */
  get instanceCount(): number {
    let n = 0;
    for (const service of this.index.allServices()) n += this.get(service).hosts.length;
    return n;
  }
}
