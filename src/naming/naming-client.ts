import { serviceKey, type PublishedInstance, type ServiceName } from './model.js';

/** What a client publishes for one service: one instance, or the set of a batch register. */
export interface Publication {
  readonly service: ServiceName;
  readonly instances: readonly PublishedInstance[];
}

/** A client's subscription to one service, with the clusters it asked for. */
export interface Subscription {
  readonly service: ServiceName;
  readonly clusters: string;
}

/**
 * The naming state of one connection (Nacos `ConnectionBasedClient`): at most one publication
 * per service and one subscription per service. Its id is the connection id; `ownerMemberId`
 * names the member holding the connection, so clients synced from other members can share the
 * index later.
 */
export class NamingClient {
  private readonly publications = new Map<string, Publication>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** Bumped on every change of what the client publishes (Distro verifies by it). */
  revision = 0;

  constructor(
    readonly id: string,
    readonly ownerMemberId: string,
    public lastUpdatedTime: number,
  ) {}

  /** Replaces what the client publishes for the service. */
  publish(service: ServiceName, instances: readonly PublishedInstance[], now: number): void {
    this.publications.set(serviceKey(service), { service, instances });
    this.touch(now);
  }

  /** Stops publishing the service; false when it published nothing there. */
  unpublish(service: ServiceName, now: number): boolean {
    const removed = this.publications.delete(serviceKey(service));
    if (removed) this.touch(now);
    return removed;
  }

  /** Subscribes, or updates the clusters of an existing subscription. */
  subscribe(service: ServiceName, clusters: string): void {
    this.subscriptions.set(serviceKey(service), { service, clusters });
  }

  /** False when it was not subscribed. */
  unsubscribe(service: ServiceName): boolean {
    return this.subscriptions.delete(serviceKey(service));
  }

  publication(key: string): Publication | undefined {
    return this.publications.get(key);
  }

  subscription(key: string): Subscription | undefined {
    return this.subscriptions.get(key);
  }

  allPublications(): IterableIterator<Publication> {
    return this.publications.values();
  }

  allSubscriptions(): IterableIterator<Subscription> {
    return this.subscriptions.values();
  }

  private touch(now: number): void {
    this.revision++;
    this.lastUpdatedTime = now;
  }
}
