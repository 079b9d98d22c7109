import type { Departure } from '../server/connection-manager.js';
import type { Timers } from '../protocol/index.js';
import { ClientServiceIndex } from './client-index.js';
import {
  hostIdentity,
  selectServiceInfo,
  serviceKey,
  toInstanceJson,
  type InstanceSelection,
  type PublishedInstance,
  type ServiceInfoJson,
  type ServiceName,
  type ServiceSnapshot,
} from './model.js';
import { NamingClient, type HoldCause, type Publication, type Subscription } from './naming-client.js';
import { ServiceStorage } from './service-storage.js';

/** Told of every change, synchronously, after the state is consistent again. */
export interface NamingChangeListener {
  /** The service's publishers changed: every subscriber is due a push. */
  serviceChanged?(service: ServiceName): void;
  /** A client subscribed to the service for the first time: it alone is due a push. */
  subscribed?(service: ServiceName, clientId: string): void;
  /** What a client of this member publishes changed: the other members are due its data. */
  localClientChanged?(clientId: string): void;
  /**
   * A client of this member is gone: the other members are due its deletion. `movedForMs`: it had
   * moved, a register (here or synced) took all its instances over, and its hold had this long left.
   */
  localClientReleased?(clientId: string, movedForMs?: number): void;
}

/** What a member sends of one client it owns (Nacos `ClientSyncData`): publications only. */
export interface SyncedClient {
  readonly clientId: string;
  readonly revision: number;
  readonly publications: readonly Publication[];
  /**
   * Set when the client's connection moved away and its instances are held this much longer
   * (docs/naming.md, Moves): a register of the same instance anywhere adopts them. Members that
   * do not know the field list the client as live until its owner deletes it.
   */
  readonly heldForMs?: number;
}

/** How long a moved client's instances stay listed, and the clock that ends the hold. */
export interface HoldOptions {
  /** 0: a moved connection's instances go at once, as Nacos's. */
  readonly moveGraceMs: number;
  readonly timers: Pick<Timers, 'setTimeout'>;
}

/** One instance's place within its service: a register of the same (service, cluster, ip, port) adopts a held one. */
function instanceSlot(instance: PublishedInstance): string {
  return `${instance.clusterName}\u0000${instance.ip}\u0000${instance.port}`;
}

/**
 * Clients by the slots of their instances, per service. Every live instance has an entry, so an
 * entry is kept small: a short slot string under its service's map, and the one client id itself
 * (a Set only for the rare slot two clients publish), not a string and a Set per instance.
 */
class SlotIndex {
  private readonly services = new Map<string, Map<string, string | Set<string>>>();

  get isEmpty(): boolean {
    return this.services.size === 0;
  }

  /** Puts one publication's slots in the index: a change of one service costs that service's instances, not the client's. */
  add(key: string, clientId: string, instances: readonly PublishedInstance[]): void {
    if (instances.length === 0) return;
    let slots = this.services.get(key);
    if (slots === undefined) this.services.set(key, (slots = new Map()));
    for (const instance of instances) {
      const slot = instanceSlot(instance);
      const ids = slots.get(slot);
      if (ids === undefined || ids === clientId) slots.set(slot, clientId);
      else if (typeof ids === 'string') slots.set(slot, new Set([ids, clientId]));
      else ids.add(clientId);
    }
  }

  /** Takes one publication's slots out of the index (a client publishes one list per service, so no slot of it stays). */
  remove(key: string, clientId: string, instances: readonly PublishedInstance[]): void {
    const slots = this.services.get(key);
    if (slots === undefined) return;
    for (const instance of instances) {
      const slot = instanceSlot(instance);
      const ids = slots.get(slot);
      if (ids === clientId) slots.delete(slot);
      else if (typeof ids === 'object') {
        ids.delete(clientId);
        if (ids.size === 1) slots.set(slot, ids.values().next().value as string);
      }
    }
    if (slots.size === 0) this.services.delete(key);
  }

  /** The clients publishing an instance at the slot of the service. */
  clientsAt(key: string, slot: string): Iterable<string> {
    const ids = this.services.get(key)?.get(slot);
    return ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids;
  }
}

/**
 * Whether two lists of a service's instances list the same hosts ({@link hostIdentity}: equal ones
 * are listed once): a change that takes the one out and puts the other in shows
 * subscribers the same list. Only those instances are compared, not the whole service, so an
 * adoption costs the same in a service of 3 instances or of 3,000.
 */
function sameHosts(service: ServiceName, added: readonly PublishedInstance[], removed: readonly PublishedInstance[]): boolean {
  const hosts = (instances: readonly PublishedInstance[]) => new Set(instances.map((instance) => hostIdentity(toInstanceJson(service, instance))));
  const put = hosts(added);
  const taken = hosts(removed);
  return put.size === taken.size && [...put].every((host) => taken.has(host));
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
  private readonly index = new ClientServiceIndex((key) => this.storage.forget(key));
  private readonly storage: ServiceStorage;
  private readonly listeners = new Set<NamingChangeListener>();
  /** Held clients by the slots of their instances (see {@link instanceSlot}). */
  private readonly heldSlots = new SlotIndex();
  /** Live clients by the slots of their instances: a client newly held finds its live twins here, not by reading every publisher. */
  private readonly liveSlots = new SlotIndex();
  /** The scheduled ends of holds (ours and synced clients'), by client id: cancels them. */
  private readonly holdTimers = new Map<string, () => void>();
  /** When this member's state began: holds of its former clients elsewhere began before it, so none runs past a grace from it. */
  private readonly startedAt: number;

  constructor(
    /** This member's id: the owner of every client created here. */
    private readonly memberId: string,
    private readonly now: () => number,
    private readonly hold: HoldOptions = { moveGraceMs: 0, timers: { setTimeout: () => () => undefined } },
  ) {
    this.storage = new ServiceStorage(this.index, (id) => this.clients.get(id), now);
    this.startedAt = now();
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
    if (client === undefined || !this.isLocal(client)) return;
    const key = serviceKey(service);
    const unpublished = client.publication(key)?.instances;
    if (unpublished === undefined) return;
    this.slotIndexOf(client).remove(key, clientId, unpublished);
    client.unpublish(service, this.now());
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
    const snapshot = this.storage.get(service);
    return selectServiceInfo(snapshot, selection, this.storage.lastRefTimeOf(snapshot));
  }

  /** The lastRefTime of a view of the snapshot: strictly newer than every view of an earlier revision. */
  lastRefTimeOf(snapshot: ServiceSnapshot): number {
    return this.storage.lastRefTimeOf(snapshot);
  }

  /** The read model of the service (for pushes and the HTTP API). */
  snapshot(service: ServiceName): ServiceSnapshot {
    return this.storage.get(service);
  }

  /**
   * The connection ended: its instances go (each affected service changes) and so do its
   * subscriptions; a connection that moved keeps its instances listed for the move grace (held,
   * see {@link HoldOptions}). Unknown ids are ignored.
   */
  release(clientId: string, departure: Departure = 'closed'): void {
    const client = this.clients.get(clientId);
    if (client === undefined || !this.isLocal(client) || client.heldUntil !== undefined) return;
    if (departure === 'moved' && this.hold.moveGraceMs > 0 && !client.publishesNothing) {
      this.holdLocal(client);
      return;
    }
    this.remove(client);
    for (const listener of this.listeners) listener.localClientReleased?.(clientId);
  }

  /** Whether the client's instances are held for adoption (its connection moved away). */
  isHeld(clientId: string): boolean {
    return this.clients.get(clientId)?.heldUntil !== undefined;
  }

  /** What this member syncs of its own client; undefined when it has none by that id. */
  localClient(clientId: string): SyncedClient | undefined {
    const client = this.clients.get(clientId);
    return client === undefined || !this.isLocal(client) ? undefined : toSynced(client, this.now());
  }

  /** Every client this member owns, as it syncs them. */
  localClients(): SyncedClient[] {
    return [...this.clients.values()].filter((c) => this.isLocal(c)).map((c) => toSynced(c, this.now()));
  }

  /**
   * Puts the owner's data for one of its clients in place of what was held, pushing every service
   * whose instances changed. Ignored (false) when the data is older than what is held or the id
   * is this member's own client; the same revision again only renews it, or rebuilds a held copy
   * the owner has live (true then).
   */
  applyRemote(ownerMemberId: string, data: SyncedClient): boolean {
    const held = this.clients.get(data.clientId);
    if (held !== undefined && this.isLocal(held)) return false;
    if (held !== undefined && held.ownerMemberId === ownerMemberId && held.revision >= data.revision) {
      if (held.revision !== data.revision) return false;
      held.renewedAt = this.now();
      if (held.heldUntil !== undefined && data.heldForMs === undefined) {
        // Held here while its owner seemed down, and the owner has it live after all: its data
        // replaces the copy, which adoption meanwhile may have trimmed.
        this.replaceRemote(held, ownerMemberId, data);
        return true;
      }
      if (data.heldForMs !== undefined && held.holdCause !== 'moved') this.holdRemote(held, data.heldForMs, 'moved');
      return false;
    }
    if (held?.heldUntil !== undefined && held.ownerMemberId === ownerMemberId && data.heldForMs !== undefined) {
      // A held client changes only by adoption, and the adopter's data, which may still be on its
      // way here, adopts it here too: taking the owner's smaller copy first would push a removal.
      held.revision = data.revision;
      held.renewedAt = this.now();
      held.holdCause = 'moved';
      return false;
    }
    this.replaceRemote(held, ownerMemberId, data);
    return true;
  }

  /**
   * The owner deleted its client; a client of another owner is left alone, and so is one the owner
   * said it holds (moved): its owner deletes it once a register adopted it, and the adopter's data,
   * which may still be on its way here, adopts it here too (removing it first would push a
   * removal); else its hold ends. A copy held only because the owner seemed down goes: the owner
   * speaks for it (a gracefully closing member's deletes of connections that did not move).
   * `movedForMs`: the owner held the client after a move and a register took it over there before
   * its hold was sent here, with this long left of the hold; see {@link removeOrHoldMoved}.
   */
  removeRemote(ownerMemberId: string, clientId: string, movedForMs?: number): void {
    const held = this.clients.get(clientId);
    if (held === undefined || this.isLocal(held) || held.ownerMemberId !== ownerMemberId || held.holdCause === 'moved') return;
    this.removeOrHoldMoved(held, movedForMs);
  }

  /**
   * A client adopted on its owner before the owner's word of the move reached us: the adopter's
   * data may still be on its way, so its instances are held as a move's are for what was left of
   * the owner's hold (at most our own grace), not removed. Any other client goes.
   */
  private removeOrHoldMoved(client: NamingClient, movedForMs: number | undefined): void {
    const forMs = Math.min(movedForMs ?? 0, this.hold.moveGraceMs);
    if (forMs > 0) this.holdRemote(client, forMs, 'moved');
    else this.remove(client);
  }

  /**
   * The owner still has the client at this revision: renewed (true), or false when held otherwise.
   * A copy held because the owner seemed down answers false, so the owner sends its data, which
   * ends the hold (see {@link applyRemote}): the owner can reach us, whatever our link to it says.
   */
  verifyRemote(ownerMemberId: string, clientId: string, revision: number): boolean {
    const held = this.clients.get(clientId);
    if (held === undefined || this.isLocal(held) || held.ownerMemberId !== ownerMemberId || held.revision !== revision) return false;
    held.renewedAt = this.now();
    return held.holdCause !== 'member-down';
  }

  /**
   * The owner's snapshot: it owns exactly the clients `owned` names, so any other client held for
   * it goes and nothing it no longer has comes back; `clients` (some or all of them, the rest
   * follow as changes) are applied as its changes are. `moved` names, with what was left of each
   * hold, the clients of those gone that moved and were adopted on the owner: they are held, as
   * {@link removeRemote} holds them.
   */
  replaceMemberClients(
    ownerMemberId: string,
    owned: readonly string[],
    clients: readonly SyncedClient[],
    moved: ReadonlyMap<string, number> = new Map(),
  ): void {
    const listed = new Set(owned);
    for (const client of [...this.clients.values()]) {
      if (this.isLocal(client) || client.ownerMemberId !== ownerMemberId) continue;
      // Held instances are past their owner: they end with their hold, or a register adopts them.
      if (!listed.has(client.id) && client.heldUntil === undefined) this.removeOrHoldMoved(client, moved.get(client.id));
    }
    for (const data of clients) this.applyRemote(ownerMemberId, data);
  }

  /**
   * The owner is marked down: its clients' instances are held for the move grace, for their redo
   * on other members to adopt, and then go on this member (not at the sync expiry). With grace 0
   * they are left to the expiry, as Nacos's.
   */
  holdMemberClients(ownerMemberId: string): void {
    if (this.hold.moveGraceMs === 0) return;
    const owned = [...this.clients.values()].filter((c) => !this.isLocal(c) && c.ownerMemberId === ownerMemberId && c.heldUntil === undefined);
    for (const client of owned) if (this.clients.get(client.id) === client) this.holdRemote(client, this.hold.moveGraceMs, 'member-down');
  }

  /**
   * The member's clients whose instances this member holds (the member went down, or moved them),
   * each with what is left of its hold: sent to the member when it comes back (see {@link holdFormerClients}).
   */
  heldClientsOf(ownerMemberId: string): SyncedClient[] {
    const now = this.now();
    const held: SyncedClient[] = [];
    for (const client of this.clients.values()) {
      if (!this.isLocal(client) && client.ownerMemberId === ownerMemberId && client.heldUntil !== undefined) held.push(toSynced(client, now));
    }
    return held;
  }

  /**
   * Another member holds these former clients of this member (it went down and came back without
   * them): their instances are held here too, for what is left of the other's hold (at most our own
   * grace), so this member lists what the others list until the clients' redo adopts them. The
   * copies are filed under the holder, whose snapshots and deletes never name them: they end by
   * adoption or with their hold. A client known here already, or data with no hold, is left alone;
   * so is everything once this member has run for a grace: a hold of a client it had before it
   * started has run out by then, and any other is of a client it let go itself (its link to the
   * holder only blinked), which must not come back.
   */
  holdFormerClients(holderMemberId: string, clients: readonly SyncedClient[]): void {
    if (this.now() - this.startedAt >= this.hold.moveGraceMs) return;
    for (const data of clients) {
      const forMs = Math.min(data.heldForMs ?? 0, this.hold.moveGraceMs);
      if (forMs <= 0 || this.clients.has(data.clientId)) continue;
      this.replaceRemote(undefined, holderMemberId, { ...data, heldForMs: forMs });
    }
  }

  /** Holds a copy of another member's client for `forMs`; a live client's twin instances adopt it at once. */
  private holdRemote(client: NamingClient, forMs: number, cause: HoldCause): void {
    this.unindexSlots(client);
    client.heldUntil = this.now() + forMs;
    client.holdCause = cause;
    this.indexSlots(client);
    this.scheduleHoldEnd(client.id, forMs);
    this.adoptByLive(client);
  }

  /** Cancels every hold's end: a closed member's state changes no more. */
  close(): void {
    for (const clientId of [...this.holdTimers.keys()]) this.cancelHoldEnd(clientId);
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
  stats(): { readonly clients: number; readonly services: number; readonly instances: number; readonly subscribers: number; readonly held: number } {
    return {
      clients: this.clients.size,
      services: this.index.publishedServiceCount,
      instances: this.storage.instanceCount,
      subscribers: this.index.subscriberCount,
      // Every held client, ours or synced, has its hold's end scheduled.
      held: this.holdTimers.size,
    };
  }

  private publish(clientId: string, service: ServiceName, instances: readonly PublishedInstance[]): void {
    const client = this.client(clientId);
    const key = serviceKey(service);
    const replaced = client.publication(key)?.instances ?? [];
    const slotIndex = this.slotIndexOf(client);
    slotIndex.remove(key, clientId, replaced);
    client.publish(service, instances, this.now());
    slotIndex.add(key, clientId, instances);
    this.index.addPublisher(service, clientId);
    const adopted = this.adoptHeld(service, instances, clientId);
    if (adopted.length === 0) this.changed(service);
    else this.changedUnlessSameHosts(service, instances, [...replaced, ...adopted]);
    for (const listener of this.listeners) listener.localClientChanged?.(clientId);
  }

  /**
   * Takes the instances' slots out of the held clients that publish them in the service (the
   * adopter publishes them now). A held client of ours left with nothing is released, one with
   * less is synced again; a held copy of another member's client changes here only: its owner
   * does the same when the adopter's data reaches it. Answers the instances the held clients dropped.
   */
  private adoptHeld(service: ServiceName, instances: readonly PublishedInstance[], adopterId?: string): PublishedInstance[] {
    if (this.heldSlots.isEmpty) return [];
    const key = serviceKey(service);
    const slots = new Set(instances.map(instanceSlot));
    const holders = new Set<string>();
    for (const slot of slots) for (const id of this.heldSlots.clientsAt(key, slot)) if (id !== adopterId) holders.add(id);
    const dropped: PublishedInstance[] = [];
    for (const id of holders) {
      const held = this.clients.get(id);
      if (held === undefined) continue;
      // Only the dropped instances' slots leave the index: a redo of S services costs S adoptions, not S².
      const heldDropped = held.dropInstances(key, (instance) => slots.has(instanceSlot(instance)));
      this.heldSlots.remove(key, id, heldDropped);
      dropped.push(...heldDropped);
      if (held.publication(key) === undefined) this.index.removePublisher(service, id);
      if (!held.publishesNothing) {
        if (this.isLocal(held)) {
          held.touch(this.now());
          for (const listener of this.listeners) listener.localClientChanged?.(id);
        }
        continue;
      }
      this.clients.delete(id);
      this.cancelHoldEnd(id);
      if (this.isLocal(held)) {
        const left = Math.max(0, (held.heldUntil ?? 0) - this.now());
        for (const listener of this.listeners) listener.localClientReleased?.(id, left);
      }
    }
    return dropped;
  }

  /** Holds a moved connection's instances for the grace, for a register anywhere to adopt. */
  private holdLocal(client: NamingClient): void {
    const now = this.now();
    for (const { service } of client.allSubscriptions()) this.index.removeSubscriber(service, client.id);
    this.unindexSlots(client);
    client.hold(now + this.hold.moveGraceMs, now);
    this.indexSlots(client);
    this.scheduleHoldEnd(client.id, this.hold.moveGraceMs);
    // The same instance may be registered already (a client that connects before it closes the old connection).
    this.adoptByLive(client);
    if (this.clients.get(client.id) === client) for (const listener of this.listeners) listener.localClientChanged?.(client.id);
  }

  /**
   * Every member ends a hold itself, so held instances go on time even when their owner is gone
   * (a drained member exits within the grace): the owner's delete, if it comes, finds nothing.
   */
  private scheduleHoldEnd(clientId: string, afterMs: number): void {
    this.cancelHoldEnd(clientId);
    this.holdTimers.set(
      clientId,
      this.hold.timers.setTimeout(() => this.endHold(clientId), afterMs),
    );
  }

  private cancelHoldEnd(clientId: string): void {
    this.holdTimers.get(clientId)?.();
    this.holdTimers.delete(clientId);
  }

  /** Nobody adopted the held client's instances within the grace: they go, as a close's would. */
  private endHold(clientId: string): void {
    this.holdTimers.delete(clientId);
    const client = this.clients.get(clientId);
    if (client?.heldUntil === undefined) return;
    this.remove(client);
    if (this.isLocal(client)) for (const listener of this.listeners) listener.localClientReleased?.(clientId);
  }

  /** A newly held client's instances that a live client already publishes are adopted by it. */
  private adoptByLive(held: NamingClient): void {
    for (const { service, instances } of [...held.allPublications()]) {
      const key = serviceKey(service);
      const twins: PublishedInstance[] = [];
      for (const slot of new Set(instances.map(instanceSlot))) {
        for (const liveId of this.liveSlots.clientsAt(key, slot)) {
          for (const instance of this.clients.get(liveId)?.publication(key)?.instances ?? []) if (instanceSlot(instance) === slot) twins.push(instance);
        }
      }
      if (twins.length === 0) continue;
      // The twins stay listed: subscribers see a change only if the held instances differ from them.
      this.changedUnlessSameHosts(service, twins, this.adoptHeld(service, twins));
    }
  }

  /** The slot index of the client's kind: held or live. */
  private slotIndexOf(client: NamingClient): SlotIndex {
    return client.heldUntil === undefined ? this.liveSlots : this.heldSlots;
  }

  /**
   * Puts all the client's slots in the index of its kind. Only the once-per-client changes (a hold
   * begins, the client goes or is replaced) are framed by unindexSlots and this; a change of one
   * service re-indexes that service alone.
   */
  private indexSlots(client: NamingClient): void {
    const index = this.slotIndexOf(client);
    for (const { service, instances } of client.allPublications()) index.add(serviceKey(service), client.id, instances);
  }

  private unindexSlots(client: NamingClient): void {
    const index = this.slotIndexOf(client);
    for (const { service, instances } of client.allPublications()) index.remove(serviceKey(service), client.id, instances);
  }

  /** `added` went into the service's instances and `removed` out: subscribers are told unless both list the same hosts. */
  private changedUnlessSameHosts(service: ServiceName, added: readonly PublishedInstance[], removed: readonly PublishedInstance[]): void {
    if (sameHosts(service, added, removed)) this.storage.changed(service);
    else this.changed(service);
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
    this.unindexSlots(client);
    this.cancelHoldEnd(client.id);
    for (const { service } of client.allSubscriptions()) this.index.removeSubscriber(service, client.id);
    for (const { service } of client.allPublications()) {
      this.index.removePublisher(service, client.id);
      this.changed(service);
    }
  }

  /**
   * Swaps a synced client for the owner's data; only services whose instances differ change. Data
   * that adopts held instances, or held data whose instances a live client publishes, changes a
   * service only when what its subscribers see differs.
   */
  private replaceRemote(held: NamingClient | undefined, ownerMemberId: string, data: SyncedClient): void {
    const now = this.now();
    const next = new NamingClient(data.clientId, ownerMemberId, now);
    for (const { service, instances } of data.publications) next.publish(service, instances, now);
    next.revision = data.revision;
    if (held !== undefined) this.unindexSlots(held);
    this.clients.set(next.id, next);
    this.indexSlots(next);
    const touched = new Map<string, ServiceName>();
    for (const { service } of held?.allPublications() ?? []) touched.set(serviceKey(service), service);
    for (const { service } of data.publications) touched.set(serviceKey(service), service);
    for (const [key, service] of touched) {
      const before = held?.publication(key)?.instances;
      const after = next.publication(key)?.instances;
      if (after === undefined) this.index.removePublisher(service, next.id);
      else this.index.addPublisher(service, next.id);
      // Held data adopts nothing: it is what a register adopts.
      const adopted = data.heldForMs === undefined && after !== undefined ? this.adoptHeld(service, after, next.id) : [];
      if (adopted.length > 0) this.changedUnlessSameHosts(service, after ?? [], [...(before ?? []), ...adopted]);
      else if (JSON.stringify(before) !== JSON.stringify(after)) this.changed(service);
    }
    if (data.heldForMs !== undefined) this.holdRemote(next, data.heldForMs, 'moved');
    else this.cancelHoldEnd(next.id);
  }

  private changed(service: ServiceName): void {
    this.storage.changed(service);
    for (const listener of this.listeners) listener.serviceChanged?.(service);
  }
}


function toSynced(client: NamingClient, now: number): SyncedClient {
  const synced = { clientId: client.id, revision: client.revision, publications: [...client.allPublications()] };
  return client.heldUntil === undefined ? synced : { ...synced, heldForMs: Math.max(0, client.heldUntil - now) };
}
