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
import { NamingClient, type Subscription } from './naming-client.js';
import { ServiceStorage } from './service-storage.js';

/** Told of every change, synchronously, after the state is consistent again. */
export interface NamingChangeListener {
  /** The service's publishers changed: every subscriber is due a push. */
  serviceChanged?(service: ServiceName): void;
  /** A client subscribed to the service for the first time: it alone is due a push. */
  subscribed?(service: ServiceName, clientId: string): void;
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
 * listeners; a connection's end is {@link release}.
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
    if (client === undefined || !client.unpublish(service, this.now())) return;
    this.index.removePublisher(service, clientId);
    this.changed(service);
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
    if (client === undefined) return;
    this.clients.delete(clientId);
    for (const { service } of client.allSubscriptions()) this.index.removeSubscriber(service, clientId);
    for (const { service } of client.allPublications()) {
      this.index.removePublisher(service, clientId);
      this.changed(service);
    }
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
  }

  private client(clientId: string): NamingClient {
    let client = this.clients.get(clientId);
    if (client === undefined) {
      client = new NamingClient(clientId, this.memberId, this.now());
      this.clients.set(clientId, client);
    }
    return client;
  }

  private changed(service: ServiceName): void {
    this.storage.changed(service);
    for (const listener of this.listeners) listener.serviceChanged?.(service);
  }
}

