import type { Logger } from 'pino';
import type { MemberPeers } from '../../cluster/member-messages.js';
import type { RequestMessage, Timers } from '../../protocol/index.js';
import type { NamingChangeListener, NamingState } from '../naming-state.js';
import {
  NamingSnapshotAskRequest,
  NamingSyncRequest,
  NamingSyncResponse,
  NamingVerifyRequest,
  NamingVerifyResponse,
  type MovedClient,
  type NamingSyncBody,
  type NamingVerifyResponseBody,
} from './messages.js';

/** Sync timing (docs/naming.md, Across members). Nacos 2.2.4: delay 1 s, verify 5 s, timeout 3 s, expiry 3 min. */
export interface NamingSyncOptions {
  /** Changes of this member's clients within this window go to each member as one message. */
  readonly debounceMs: number;
  /** How often each member is sent the (id, revision) list of this member's clients, and expiry runs. */
  readonly verifyIntervalMs: number;
  /** A synced client its owner has not confirmed for this long is removed. */
  readonly expireMs: number;
  /** A sync or verify request not answered within this has failed. */
  readonly requestTimeoutMs: number;
  /** At most this many clients' data in one message, so a large snapshot stays under the message size limit. */
  readonly clientsPerMessage: number;
  /**
   * A member's snapshot asks within this of the last one it was answered are ignored: each costs a
   * whole snapshot and cuts our link's back-off, and a trusted connection may name any member. 0: no limit.
   */
  readonly snapshotAskIntervalMs: number;
}

/** Ours: a short debounce, so a subscriber on another member hears of a change promptly. */
export const DEFAULT_NAMING_SYNC_OPTIONS: NamingSyncOptions = {
  debounceMs: 50,
  verifyIntervalMs: 5000,
  expireMs: 180_000,
  requestTimeoutMs: 3000,
  clientsPerMessage: 200,
  snapshotAskIntervalMs: 1000,
};

/** The other members, as the sync sees them (src/cluster's ClusterMembers on a node). */
/** How the sync reaches the other members. */
export type SyncPeers = MemberPeers;

/** What is due to one member. */
interface Outbox {
  /** This member's clients changed or released since the last message. */
  readonly dirty: Set<string>;
  /**
   * Released clients a register adopted after they moved, each with when its hold ends: sent as
   * `moved` until a message carrying them is delivered (a failed one leaves them for the snapshot).
   */
  readonly adopted: Map<string, number>;
  /** Everything is due (the member came up, or a message to it failed). */
  snapshotDue: boolean;
  /** The messages under way to the member, if any: close() waits for them before its last send. */
  sending: Promise<void> | undefined;
  cancelFlush: (() => void) | undefined;
}

/**
 * Nacos's Distro for naming, between our members: this member's clients go to every other member
 * (changes debounced, deletes, a snapshot when a member comes up or a message failed), each
 * member is sent the (id, revision) list every `verifyIntervalMs` and answers the ids it holds
 * otherwise, and synced clients not confirmed for `expireMs` are removed. One message to a
 * member at a time, so a delete never overtakes the change before it.
 */
export class NamingSync implements NamingChangeListener {
  private readonly outboxes = new Map<string, Outbox>();
  /** When each member's last snapshot ask was answered. */
  private readonly askAnsweredAt = new Map<string, number>();
  private readonly stops: (() => void)[] = [];
  private cancelVerify: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly state: NamingState,
    private readonly memberId: string,
    private readonly peers: SyncPeers,
    private readonly timers: Timers,
    private readonly options: NamingSyncOptions,
    private readonly logger: Logger,
  ) {}

  /** Listens to the state and the members; every member is due a snapshot once its link is up. */
  start(): void {
    this.stops.push(this.state.addListener(this));
    this.stops.push(this.peers.onMemberUp((member) => this.memberUp(member)));
    this.scheduleVerify();
  }

  /**
   * Stops, sending first what is due without waiting for the debounce: on a node's close, the
   * deletes of the connections it just closed, so the others do not keep them until they expire.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const stop of this.stops.splice(0)) stop();
    this.cancelVerify?.();
    const last: Promise<boolean>[] = [];
    for (const [member, outbox] of this.outboxes) {
      outbox.cancelFlush?.();
      outbox.cancelFlush = undefined;
      // A send under way would leave what was queued behind it to a flush that closed stops: wait
      // for it, then send the rest. A member due a snapshot gets one: all this member still owns.
      const under = outbox.sending ?? Promise.resolve();
      last.push(under.then(() => this.send(member, outbox)));
    }
    // The listeners are off, and what arrives after this (a verify's answer, a snapshot asked)
    // queues nothing: only the sends above still run.
    this.closed = true;
    this.outboxes.clear();
    await Promise.all(last);
  }

  localClientChanged(clientId: string): void {
    this.markDirty(clientId);
  }

  localClientReleased(clientId: string, movedForMs?: number): void {
    this.markDirty(clientId);
    if (movedForMs === undefined) return;
    const heldUntil = this.timers.now() + movedForMs;
    for (const member of this.peers.others()) this.outbox(member).adopted.set(clientId, heldUntil);
  }

  /**
   * A member asked for our snapshot (its link to us came up); ignored from a member not listed here,
   * and within `snapshotAskIntervalMs` of the member's last ask answered.
   * The ask shows the member is up: our link to it, likely still backing off after it restarted,
   * reconnects at once, so the snapshot reaches it while it is still waiting for it (StartupLoad).
   */
  snapshotAsked(member: string): void {
    if (this.closed || !this.peers.others().includes(member)) return;
    const now = this.timers.now();
    const last = this.askAnsweredAt.get(member);
    if (last !== undefined && now - last < this.options.snapshotAskIntervalMs) return;
    this.askAnsweredAt.set(member, now);
    this.peers.heardFrom?.(member);
    this.outbox(member).snapshotDue = true;
    void this.flush(member);
  }

  /**
   * The member's link came up: whatever it held of ours may be old, so it gets everything, and we
   * ask for its snapshot, as the link from it to us may come up later (its client backs off).
   */
  private memberUp(member: string): void {
    if (this.closed) return;
    this.outbox(member).snapshotDue = true;
    void this.flush(member);
    const ask: RequestMessage = { kind: 'request', type: NamingSnapshotAskRequest.type, headers: {}, body: { member: this.memberId } };
    this.peers.request(member, ask, { timeoutMs: this.options.requestTimeoutMs, expect: NamingSyncResponse }).catch((error: unknown) => {
      // Its own link to us coming up sends the snapshot all the same.
      this.logger.debug({ member, err: error }, 'asking a member for its naming snapshot failed');
    });
  }

  private markDirty(clientId: string): void {
    for (const member of this.peers.others()) {
      this.outbox(member).dirty.add(clientId);
      this.scheduleFlush(member);
    }
  }

  private outbox(member: string): Outbox {
    let outbox = this.outboxes.get(member);
    if (outbox === undefined) {
      // A member first seen is due everything; its link coming up says so again.
      outbox = { dirty: new Set(), adopted: new Map(), snapshotDue: true, sending: undefined, cancelFlush: undefined };
      this.outboxes.set(member, outbox);
    }
    return outbox;
  }

  private scheduleFlush(member: string): void {
    const outbox = this.outbox(member);
    if (outbox.cancelFlush !== undefined || this.closed) return;
    outbox.cancelFlush = this.timers.setTimeout(() => {
      outbox.cancelFlush = undefined;
      void this.flush(member);
    }, this.options.debounceMs);
  }

  /** Sends the member what is due, unless a send to it is under way (that one schedules the next). */
  private flush(member: string): Promise<void> {
    const outbox = this.outbox(member);
    if (outbox.sending !== undefined || this.closed) return Promise.resolve();
    return this.send(member, outbox).then((delivered) => {
      if (delivered && (outbox.dirty.size > 0 || outbox.snapshotDue)) this.scheduleFlush(member);
    });
  }

  /**
   * Sends what is due, a snapshot or the dirty clients' data and deletes, in messages of at most
   * `clientsPerMessage` clients, one after another; what is due is taken before the first await.
   * Resolves false when a message failed.
   */
  private send(member: string, outbox: Outbox): Promise<boolean> {
    if (!outbox.snapshotDue && outbox.dirty.size === 0) return Promise.resolve(true);
    const messages = this.takeDue(member, outbox);
    const delivered = (async () => {
      try {
        for (const body of messages) {
          await this.peers.request(member, syncRequest(body), { timeoutMs: this.options.requestTimeoutMs, expect: NamingSyncResponse });
          for (const { clientId } of body.moved ?? []) outbox.adopted.delete(clientId);
        }
        return true;
      } catch (error) {
        // Whatever did not arrive goes again as a snapshot, at the next verify or when the link is back.
        outbox.snapshotDue = true;
        this.logger.debug({ member, err: error }, 'naming sync to member failed; a snapshot is due');
        return false;
      }
    })();
    // Cleared in a callback, not inside the sender, so a request that fails synchronously cannot leave it set.
    outbox.sending = delivered.then(() => {
      outbox.sending = undefined;
    });
    return delivered;
  }

  /**
   * Empties the outbox into message bodies; the data is read now, so it is the latest. The
   * adopted ids stay until a message carrying them is delivered (see {@link send}).
   */
  private takeDue(receiver: string, outbox: Outbox): NamingSyncBody[] {
    const snapshot = outbox.snapshotDue;
    const ids = [...outbox.dirty];
    outbox.snapshotDue = false;
    outbox.dirty.clear();
    const clients = snapshot ? this.state.localClients() : [];
    const deleted: string[] = [];
    if (!snapshot) {
      for (const id of ids) {
        const client = this.state.localClient(id);
        if (client === undefined) deleted.push(id);
        else clients.push(client);
      }
    }
    // The receiver's own former clients held here: it came back without them (see NamingState.holdFormerClients).
    const former = snapshot ? this.state.heldClientsOf(receiver) : [];
    const size = this.options.clientsPerMessage;
    const parts = Math.max(1, Math.ceil((clients.length + former.length) / size));
    // A snapshot's parts say which is the last, for a receiver that waits for all of it (StartupLoad).
    const lastOf = (part: number) => (snapshot ? { last: part === parts - 1 } : {});
    // A hold and its adoption within one debounce (or before a failed message was made good)
    // leave only the delete, or a snapshot without the client: `moved` tells the receiver to
    // hold what is left of it, since it never saw the hold and the adopter's data may come after this.
    const gone = snapshot ? undefined : new Set(deleted);
    const owned = new Set(clients.map((c) => c.clientId));
    const now = this.timers.now();
    const moved: MovedClient[] = [];
    for (const [clientId, heldUntil] of outbox.adopted) {
      // A hold over is over on the receiver too: a plain delete.
      if (heldUntil <= now) outbox.adopted.delete(clientId);
      else if (gone === undefined ? !owned.has(clientId) : gone.has(clientId)) moved.push({ clientId, heldForMs: heldUntil - now });
    }
    // Each part carries at most `size` clients, the receiver's former ones after the sender's own.
    const partOf = (part: number) => {
      const [from, to] = [part * size, (part + 1) * size];
      const formerPart = former.slice(Math.max(0, from - clients.length), Math.max(0, to - clients.length));
      return { clients: clients.slice(from, to), ...(formerPart.length > 0 ? { formerClients: formerPart } : {}), ...lastOf(part) };
    };
    const member = this.memberId;
    const bodies: NamingSyncBody[] = [
      { member, snapshot, ...(snapshot ? { owned: [...owned] } : {}), deleted, ...(moved.length > 0 ? { moved } : {}), ...partOf(0) },
    ];
    for (let part = 1; part < parts; part++) bodies.push({ member, snapshot: false, deleted: [], ...partOf(part) });
    return bodies;
  }

  private scheduleVerify(): void {
    if (this.closed) return;
    this.cancelVerify = this.timers.setTimeout(() => {
      this.verifyAll();
      this.scheduleVerify();
    }, this.options.verifyIntervalMs);
  }

  /** Expires synced clients, then verifies with (or sends a due snapshot to) every other member. */
  private verifyAll(): void {
    const expired = this.state.expireRemote(this.timers.now() - this.options.expireMs);
    if (expired.length > 0) this.logger.info({ clients: expired }, 'synced naming clients expired: their owner stopped verifying them');
    const others = new Set(this.peers.others());
    for (const [member, outbox] of this.outboxes) {
      if (!others.has(member)) {
        outbox.cancelFlush?.();
        this.outboxes.delete(member);
        this.askAnsweredAt.delete(member);
      }
    }
    if (others.size === 0) return;
    const clients = this.state.localClients().map(({ clientId, revision }) => ({ clientId, revision }));
    for (const member of others) {
      const outbox = this.outbox(member);
      if (outbox.snapshotDue) void this.flush(member);
      else if (outbox.sending === undefined && clients.length > 0) void this.verify(member, clients);
    }
  }

  private async verify(member: string, clients: readonly { clientId: string; revision: number }[]): Promise<void> {
    let mismatched: NamingVerifyResponseBody['mismatched'];
    try {
      const reply = await this.peers.request(member, verifyRequest(this.memberId, clients), {
        timeoutMs: this.options.requestTimeoutMs,
        expect: NamingVerifyResponse,
      });
      mismatched = reply.body.mismatched;
    } catch (error) {
      if (!this.closed) this.outbox(member).snapshotDue = true;
      this.logger.debug({ member, err: error }, 'naming verify with member failed; a snapshot is due');
      return;
    }
    if (this.closed || mismatched.length === 0) return;
    const outbox = this.outbox(member);
    for (const id of mismatched) outbox.dirty.add(id);
    this.scheduleFlush(member);
  }
}

function syncRequest(body: NamingSyncBody): RequestMessage {
  return { kind: 'request', type: NamingSyncRequest.type, headers: {}, body };
}

function verifyRequest(member: string, clients: readonly { clientId: string; revision: number }[]): RequestMessage {
  return { kind: 'request', type: NamingVerifyRequest.type, headers: {}, body: { member, clients } };
}
