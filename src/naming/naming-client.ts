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
 * Why instances are held: 'moved', the owner's connection moved away (the owner's word ends it only
 * by adoption); 'member-down', this member lost its link to the owner (the owner's word ends it).
 */
export type HoldCause = 'moved' | 'member-down';

/**
 * The naming state of one connection (Nacos `ConnectionBasedClient`): at most one publication
 * per service and one subscription per service. Its id is the connection id; `ownerMemberId`
 * names the member holding the connection: a client owned by another member was synced from it
 * (docs/naming.md, Across members) and publishes only.
 */
export class NamingClient {
  private readonly publications = new Map<string, Publication>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** Bumped on every change of what the client publishes (Distro verifies by it). */
  revision = 0;
  /** When its owner last confirmed it (synced clients only: they expire when not renewed). */
  renewedAt: number;
  /**
   * Set while the client's connection has moved away: its instances stay listed until then, for
   * a register elsewhere to adopt (docs/naming.md, Moves). It subscribes to nothing meanwhile.
   */
  heldUntil: number | undefined = undefined;
  /** Why a synced copy is held: its owner moved it, or this member saw the owner go down. */
  holdCause: HoldCause | undefined = undefined;

  constructor(
    readonly id: string,
    readonly ownerMemberId: string,
    public lastUpdatedTime: number,
  ) {
    this.renewedAt = lastUpdatedTime;
  }

  /** Replaces what the client publishes for the service. */
  publish(service: ServiceName, instances: readonly PublishedInstance[], now: number): void {
    this.publications.set(serviceKey(service), { service, instances });
    this.touch(now);
  }

  /** Holds the client's instances until `until`; its subscriptions end (nobody is there to push to). */
  hold(until: number, now: number): void {
    this.heldUntil = until;
    this.holdCause = 'moved';
    this.subscriptions.clear();
    this.touch(now);
  }

  /**
   * Drops the service's instances that `matches` picks and answers them. The revision stays:
   * a synced copy must keep its owner's (the owner's client is bumped by {@link touch}).
   */
  dropInstances(key: string, matches: (instance: PublishedInstance) => boolean): PublishedInstance[] {
    const publication = this.publications.get(key);
    if (publication === undefined) return [];
    const dropped: PublishedInstance[] = [];
    const kept: PublishedInstance[] = [];
    for (const instance of publication.instances) (matches(instance) ? dropped : kept).push(instance);
    if (dropped.length === 0) return [];
    if (kept.length === 0) this.publications.delete(key);
    else this.publications.set(key, { service: publication.service, instances: kept });
    return dropped;
  }

  get publishesNothing(): boolean {
    return this.publications.size === 0;
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

  /** What the client publishes changed. */
  touch(now: number): void {
    this.revision++;
    this.lastUpdatedTime = now;
  }
}
