import { ClientServiceIndex } from './client-index.js';
import {
  selectServiceInfo,
  serviceKey,
  type InstanceSelection,
  type PublishedInstance,
  type ServiceInfoJson,
  type ServiceName,
  type ServiceSnapshot,
} from './model.js';
import { NamingClient, type Publication, type Subscription } from './naming-client.js';
import { ServiceStorage } from './service-storage.js';

/** Told of every change, synchronously, after the state is consistent again. */
export interface NamingChangeListener {
  /** The service's publishers changed: every subscriber is due a push. */
  serviceChanged?(service: ServiceName): void;
  /** A client subscribed to the service for the first time: it alone is due a push. */
  subscribed?(service: ServiceName, clientId: string): void;
  /** What a client of this member publishes changed: the other members are due its data. */
  localClientChanged?(clientId: string): void;
  /** A client of this member is gone: the other members are due its deletion. */
  localClientReleased?(clientId: string): void;
}

/** What a member sends of one client it owns (Nacos `ClientSyncData`): publications only. */
export interface SyncedClient {
  readonly clientId: string;
  readonly revision: number;
  readonly publications: readonly Publication[];
}

/** A page of a namespace's service names, as ServiceListRequest and the v2 open API answer. */
export interface ServiceNamePage {
  /** Services matching before paging. */
  readonly count: number;
  /** Service names without the group prefix. */
  readonly names: readonly string[];
}

/**
 * The naming core of one member, without I/O: a {@link NamingClient} per connection, the
 * service index and the read model. Every change of a service's publishers goes to the
 * listeners; a connection's end is {@link release}. Clients owned by other members sit in the
 * same index: they are replaced wholesale by their owner's data, removed by its deletes, its
 * snapshots or expiry, and never by this member's connection events.
 */
export class NamingState {
  private readonly clients = new Map<string, NamingClient>();
  private readonly index = new ClientServiceIndex();
  private readonly storage: ServiceStorage;
  private readonly listeners = new Set<NamingChangeListener>();

  constructor(
    /** This member's id: the owner of every client created here. */
    private readonly memberId: string,
    private readonly now: () => number,
  ) {
    this.storage = new ServiceStorage(this.index, (id) => this.clients.get(id), now);
  }

  /** Adds a listener; returns a function that removes it. */
  addListener(listener: NamingChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers the client's instance of the service, replacing whatever it published there. */
  register(clientId: string, service: ServiceName, instance: PublishedInstance): void {
    this.publish(clientId, service, [instance]);
  }

  /** Replaces the client's instances of the service with the list (an empty list removes them). */
  batchRegister(clientId: string, service: ServiceName, instances: readonly PublishedInstance[]): void {
    if (instances.length === 0) this.deregister(clientId, service);
    else this.publish(clientId, service, instances);
  }

  /** Removes whatever the client publishes for the service; nothing when it publishes nothing. */
  deregister(clientId: string, service: ServiceName): void {
    const client = this.clients.get(clientId);
    if (client === undefined || !this.isLocal(client) || !client.unpublish(service, this.now())) return;
    this.index.removePublisher(service, clientId);
    this.changed(service);
    for (const listener of this.listeners) listener.localClientChanged?.(clientId);
  }

  /** Subscribes the client and answers the service's instances for its clusters (unhealthy included). */
  subscribe(clientId: string, service: ServiceName, clusters: string): ServiceInfoJson {
    this.client(clientId).subscribe(service, clusters);
    if (this.index.addSubscriber(service, clientId)) for (const listener of this.listeners) listener.subscribed?.(service, clientId);
    return this.query(service, { clusters, healthyOnly: false });
  }

  /** Ends the client's subscription and answers the service's instances as subscribe does. */
  unsubscribe(clientId: string, service: ServiceName, clusters: string): ServiceInfoJson {
    if (this.clients.get(clientId)?.unsubscribe(service)) this.index.removeSubscriber(service, clientId);
    return this.query(service, { clusters, healthyOnly: false });
  }

  /** The service's instances as a reader selects them. */
  query(service: ServiceName, selection: InstanceSelection): ServiceInfoJson {
    return selectServiceInfo(this.storage.get(service), selection, this.now());
  }

  /** The read model of the service (for pushes and the HTTP API). */
  snapshot(service: ServiceName): ServiceSnapshot {
    return this.storage.get(service);
  }

  /**
   * The connection ended: its instances go (each affected service changes) and so do its
   * subscriptions. Unknown ids are ignored.
   */
  release(clientId: string): void {
    const client = this.clients.get(clientId);
    if (client === undefined || !this.isLocal(client)) return;
    this.remove(client);
    for (const listener of this.listeners) listener.localClientReleased?.(clientId);
  }

  /** What this member syncs of its own client; undefined when it has none by that id. */
  localClient(clientId: string): SyncedClient | undefined {
    const client = this.clients.get(clientId);
    return client === undefined || !this.isLocal(client) ? undefined : toSynced(client);
  }

  /** Every client this member owns, as it syncs them. */
  localClients(): SyncedClient[] {
    return [...this.clients.values()].filter((c) => this.isLocal(c)).map(toSynced);
  }

  /**
   * Puts the owner's data for one of its clients in place of what was held, pushing every service
   * whose instances changed. Ignored (false) when the data is older than what is held or the id
   * is this member's own client; the same revision again only renews it.
   */
  applyRemote(ownerMemberId: string, data: SyncedClient): boolean {
    const held = this.clients.get(data.clientId);
    if (held !== undefined && this.isLocal(held)) return false;
    if (held !== undefined && held.ownerMemberId === ownerMemberId && held.revision >= data.revision) {
      if (held.revision === data.revision) held.renewedAt = this.now();
      return false;
    }
    this.replaceRemote(held, ownerMemberId, data);
    return true;
  }

  /** The owner deleted its client; a client of another owner is left alone. */
  removeRemote(ownerMemberId: string, clientId: string): void {
    const held = this.clients.get(clientId);
    if (held !== undefined && !this.isLocal(held) && held.ownerMemberId === ownerMemberId) this.remove(held);
  }

  /** The owner still has the client at this revision: renewed (true), or false when held otherwise. */
  verifyRemote(ownerMemberId: string, clientId: string, revision: number): boolean {
    const held = this.clients.get(clientId);
    if (held === undefined || this.isLocal(held) || held.ownerMemberId !== ownerMemberId || held.revision !== revision) return false;
    held.renewedAt = this.now();
    return true;
  }

  /**
   * The owner's snapshot: it owns exactly the clients `owned` names, so any other client held for
   * it goes and nothing it no longer has comes back; `clients` (some or all of them, the rest
   * follow as changes) are applied as its changes are.
   */
  replaceMemberClients(ownerMemberId: string, owned: readonly string[], clients: readonly SyncedClient[]): void {
    const listed = new Set(owned);
    for (const client of [...this.clients.values()]) {
      if (!this.isLocal(client) && client.ownerMemberId === ownerMemberId && !listed.has(client.id)) this.remove(client);
    }
    for (const data of clients) this.applyRemote(ownerMemberId, data);
  }

  /** Removes the synced clients not renewed since the time given; answers their ids. */
  expireRemote(renewedBefore: number): string[] {
    const expired = [...this.clients.values()].filter((c) => !this.isLocal(c) && c.renewedAt < renewedBefore);
    for (const client of expired) this.remove(client);
    return expired.map((c) => c.id);
  }

  /** The clients subscribed to the service. */
  subscribersOf(service: ServiceName): ReadonlySet<string> {
    return this.index.subscribersOf(serviceKey(service));
  }

  /** The client's subscription to the service, if it has one. */
  subscriptionOf(clientId: string, service: ServiceName): Subscription | undefined {
    return this.clients.get(clientId)?.subscription(serviceKey(service));
  }

  /** The client holding a connection's naming state, if it has any. */
  clientOf(clientId: string): NamingClient | undefined {
    return this.clients.get(clientId);
  }

  /** Names of the namespace's services in the group, sorted, paged from page 1 (Nacos `pageServiceName`). */
  listServices(namespace: string, group: string, pageNo: number, pageSize: number): ServiceNamePage {
    const names: string[] = [];
    for (const service of this.index.allServices()) {
      if (service.namespace === namespace && service.group === group) names.push(service.name);
    }
    names.sort();
    const start = Math.max(0, (pageNo - 1) * pageSize);
    return { count: names.length, names: names.slice(start, start + Math.max(0, pageSize)) };
  }

  /** Figures for metrics. */
  stats(): { readonly clients: number; readonly services: number; readonly instances: number; readonly subscribers: number } {
    return {
      clients: this.clients.size,
      services: this.index.publishedServiceCount,
      instances: this.storage.instanceCount,
      subscribers: this.index.subscriberCount,
    };
  }

  private publish(clientId: string, service: ServiceName, instances: readonly PublishedInstance[]): void {
    this.client(clientId).publish(service, instances, this.now());
    this.index.addPublisher(service, clientId);
    this.changed(service);
    for (const listener of this.listeners) listener.localClientChanged?.(clientId);
  }

  /** This member's client by that id, created on first use. */
  private client(clientId: string): NamingClient {
    const held = this.clients.get(clientId);
    if (held !== undefined && this.isLocal(held)) return held;
    // A connection here whose id a synced client holds: the connection is what is real now.
    if (held !== undefined) this.remove(held);
    const client = new NamingClient(clientId, this.memberId, this.now());
    this.clients.set(clientId, client);
    return client;
  }

  private isLocal(client: NamingClient): boolean {
    return client.ownerMemberId === this.memberId;
  }

  /** Takes a client out of the maps and the index; each service it published changes. */
  private remove(client: NamingClient): void {
    this.clients.delete(client.id);
    for (const { service } of client.allSubscriptions()) this.index.removeSubscriber(service, client.id);
    for (const { service } of client.allPublications()) {
      this.index.removePublisher(service, client.id);
      this.changed(service);
    }
  }

  /** Swaps a synced client for the owner's data; only services whose instances differ change. */
  private replaceRemote(held: NamingClient | undefined, ownerMemberId: string, data: SyncedClient): void {
    const now = this.now();
    const next = new NamingClient(data.clientId, ownerMemberId, now);
    for (const { service, instances } of data.publications) next.publish(service, instances, now);
    next.revision = data.revision;
    this.clients.set(next.id, next);
    const touched = new Map<string, ServiceName>();
    for (const { service } of held?.allPublications() ?? []) touched.set(serviceKey(service), service);
    for (const { service } of data.publications) touched.set(serviceKey(service), service);
    for (const [key, service] of touched) {
      const before = held?.publication(key);
      const after = next.publication(key);
      if (after === undefined) this.index.removePublisher(service, next.id);
      else this.index.addPublisher(service, next.id);
      if (JSON.stringify(before?.instances) !== JSON.stringify(after?.instances)) this.changed(service);
    }
  }

  private changed(service: ServiceName): void {
    this.storage.changed(service);
    for (const listener of this.listeners) listener.serviceChanged?.(service);
  }
}


function toSynced(client: NamingClient): SyncedClient {
  return { clientId: client.id, revision: client.revision, publications: [...client.allPublications()] };
}
