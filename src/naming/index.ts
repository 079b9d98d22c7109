/**
 * The naming service on a node's connections (docs/naming.md): Nacos 2.x's naming requests, a
 * naming client per connection released when the connection ends, and pushes to subscribers.
 */
import type { Logger } from 'pino';
import type { Timers } from '../protocol/index.js';
import type { NacosServer } from '../server/nacos-server.js';
import { namingHandlers } from './handlers/index.js';
import { defineNamingTypes, NAMING_MODULE } from '../protocol/naming/index.js';
import type { InstanceSelection, ServiceInfoJson, ServiceName } from './model.js';
import { NamingState, type ServiceNamePage } from './naming-state.js';
import { DEFAULT_PUSH_ENGINE_OPTIONS, PushEngine, type PushEngineOptions, type PushObserver } from './push/push-engine.js';
import { namingSyncHandlers } from './sync/handlers.js';
import { NAMING_SYNC_MODULE, NAMING_SYNC_TYPES } from './sync/messages.js';
import { DEFAULT_NAMING_SYNC_OPTIONS, NamingSync, type NamingSyncOptions, type SyncPeers } from './sync/naming-sync.js';
import { afterLoad, StartupLoad } from './sync/startup-load.js';
import { CERTAIN_DOWN_REASONS } from '../cluster/member-messages.js';

export { DEFAULT_NAMESPACE, DEFAULT_GROUP, type InstanceSelection, type ServiceInfoJson, type ServiceName } from './model.js';
export type { ServiceNamePage } from './naming-state.js';
export type { PushObserver } from './push/push-engine.js';
export type { SyncPeers } from './sync/naming-sync.js';

/** The sync's timing from the node's options (the start-up waits are not the sync's). */
function syncOptionsOf(options: NamingOptions['sync'] = {}): NamingSyncOptions {
  const { startupHoldMs: _hold, startupWaitMs: _wait, ...timing } = options;
  return { ...DEFAULT_NAMING_SYNC_OPTIONS, ...timing };
}

/**
 * How long a member that started keeps SDK clients away while it waits for the others'
 * snapshots: they go to members that have the data meanwhile, so this can be long; it only bounds
 * the wait on a member that neither sends nor is found not running.
 */
export const DEFAULT_STARTUP_HOLD_MS = 30_000;

/**
 * How long a read that arrives before the load waits for it (on the cluster port during the hold,
 * or from every client with the hold off): under the 3 s a Java 2.2.4 client gives a request.
 */
const DEFAULT_STARTUP_WAIT_MS = 2000;

/** How long a moved connection's instances stay listed by default (issue 13). */
export const DEFAULT_MOVE_GRACE_MS = 10_000;

/** Naming options of a node (config key `naming`). */
export interface NamingOptions {
  /** A service's merge window: a change goes at once, later ones within this after a push go as one at its end; default 20 ms (Nacos holds every push 500). */
  readonly pushDelayMs?: number;
  /** A push not acknowledged within this has failed; default 5000 ms, as Nacos. */
  readonly pushTimeoutMs?: number;
  /** A failed push is retried after this; default 1000 ms, as Nacos. */
  readonly pushRetryDelayMs?: number;
  /**
   * A moved connection's instances stay listed this long on every member, for its register on its
   * new connection to adopt them without a push; default 10 000 ms; 0: they go at once, as Nacos's
   * (docs/naming.md, Moves).
   */
  readonly moveGraceMs?: number;
  /** Sync of this member's clients to the other members (docs/naming.md, Across members). */
  readonly sync?: {
    /** Changes within this window go to a member as one message; default 50 ms (Nacos: 1000). */
    readonly debounceMs?: number;
    /** Each member is sent the (id, revision) list of this member's clients this often; default 5000 ms, as Nacos. */
    readonly verifyIntervalMs?: number;
    /** A synced client its owner stopped verifying is removed after this; default 180 000 ms, as Nacos. */
    readonly expireMs?: number;
    /**
     * After a start, the member takes no SDK clients (every SDK-port unary call 300, setups refused,
     * readiness 500) until every other member has sent its snapshot or been found not running, at
     * most this long from the server's start; default 30 000 ms; 0: it takes them at once, as Nacos.
     */
    readonly startupHoldMs?: number;
    /**
     * gRPC subscribes and queries that arrive before that load wait for it, at most this long from
     * the server's start; default 2000 ms (under Java's 3 s request timeout); 0: they are answered
     * at once, from what has arrived (as Nacos's gRPC). With the hold on, only cluster-port
     * connections can read so early: every SDK-port unary call gets 300 during the hold.
     */
    readonly startupWaitMs?: number;
    /** A member's snapshot asks are answered at most this often; default 1000 ms; 0: every one. */
    readonly snapshotAskIntervalMs?: number;
  };
}

/** What the HTTP API reads of naming. */
export interface NamingReader {
  query(service: ServiceName, selection: InstanceSelection): ServiceInfoJson;
  listServices(namespace: string, group: string, pageNo: number, pageSize: number): ServiceNamePage;
}

/** Figures for metrics. */
export interface NamingStats {
  stats(): { readonly clients: number; readonly services: number; readonly instances: number; readonly subscribers: number; readonly held: number };
}

/** The naming service running on a node. */
export interface NamingService {
  readonly reader: NamingReader;
  readonly stats: NamingStats;
  /**
   * Stops pushing (pending pushes are dropped) and syncing, after sending the other members what
   * is due (the deletes of connections already closed). Close the server first.
   */
  close(): Promise<void>;
}

/** What a member logs when its hold ran to the cap (test support fails a start on it). */
export const HOLD_RAN_OUT_MESSAGE = 'naming: the hold ran out before these members sent their snapshots';

/**
 * Keeps the server's SDK clients away until the member has the others' naming data, at most
 * `holdMs` from the server's start: until then they go to members that have it, where a
 * subscriber's first list is whole.
 */
function holdClientsForLoad(server: NacosServer, startup: StartupLoad, holdMs: number, logger: Logger): void {
  const hold = startup.waitAtMost(holdMs);
  if (hold.isOver) return;
  server.holdClientsUntil(
    hold.over.then((how) => {
      if (how === 'capped') logger.warn({ holdMs, awaited: startup.awaited }, HOLD_RAN_OUT_MESSAGE);
      else if (how === 'loaded') logger.info('naming: loaded (every other member sent its snapshot or was found not running)');
    }),
  );
}

/**
 * Puts naming on a node's server: its message types, one handler per request type, a listener
 * that releases a connection's naming client when the connection ends, the push engine, the
 * handlers of other members' sync messages, and with `peers` the sync of this member's clients.
 */
export function attachNaming(
  server: NacosServer,
  deps: {
    readonly memberId: string;
    readonly timers: Timers;
    readonly logger: Logger;
    readonly options?: NamingOptions;
    readonly observer?: PushObserver;
    readonly peers?: SyncPeers;
  },
): NamingService {
  const { timers, options = {} } = deps;
  const state = new NamingState(deps.memberId, () => timers.now(), { moveGraceMs: options.moveGraceMs ?? DEFAULT_MOVE_GRACE_MS, timers });
  const pushOptions: PushEngineOptions = {
    delayMs: options.pushDelayMs ?? DEFAULT_PUSH_ENGINE_OPTIONS.delayMs,
    timeoutMs: options.pushTimeoutMs ?? DEFAULT_PUSH_ENGINE_OPTIONS.timeoutMs,
    retryDelayMs: options.pushRetryDelayMs ?? DEFAULT_PUSH_ENGINE_OPTIONS.retryDelayMs,
  };
  const push = new PushEngine(state, { prepare: (request) => server.preparePush(request), send: (id, push, timeoutMs, settled) => server.pushThen(id, push, timeoutMs, settled) }, timers, pushOptions, deps.logger, deps.observer);
  state.addListener(push);

  defineNamingTypes(server.registry);
  const startup = new StartupLoad(deps.peers?.others() ?? [], timers);
  holdClientsForLoad(server, startup, options.sync?.startupHoldMs ?? DEFAULT_STARTUP_HOLD_MS, deps.logger);
  const readsWait = startup.waitAtMost(options.sync?.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS);
  server.whenStarted(() => startup.startClock());
  for (const [type, handler] of Object.entries(namingHandlers(state))) {
    const waits = type === 'SubscribeServiceRequest' || type === 'ServiceQueryRequest';
    server.registerHandler(type, waits ? afterLoad(readsWait, handler) : handler, { module: NAMING_MODULE });
  }
  const removeListener = server.addConnectionListener({ name: 'naming', onDisconnected: (connection, _reason, departure) => state.release(connection.id, departure) });

  const sync =
    deps.peers === undefined
      ? undefined
      : new NamingSync(state, deps.memberId, deps.peers, timers, syncOptionsOf(options.sync), deps.logger.child({ part: 'sync' }));
  server.defineMessageTypes(...NAMING_SYNC_TYPES);
  const syncHandlers = namingSyncHandlers(
    state,
    { self: deps.memberId, others: () => deps.peers?.others() ?? [] },
    (member) => {
      // The member reached us, so it is up: a start waits for its snapshot again if it gave up on it.
      // The asker is not matched to the member it names: an id may be a hostname or an advertised
      // IP other than the connection's source. Only a trusted member can ask, and the cap bounds it.
      startup.memberHeard(member);
      sync?.snapshotAsked(member);
    },
    (member) => startup.snapshotReceived(member),
  );
  for (const [type, handler] of Object.entries(syncHandlers)) server.registerHandler(type, handler, { module: NAMING_SYNC_MODULE });
  sync?.start();
  const removeUpListener = deps.peers?.onMemberUp((member) => startup.memberHeard(member));
  // A member gone down: its clients' instances get the move grace to be adopted by their redo
  // elsewhere (one that left the members keeps them until they expire, as before), and a start
  // does not wait for a snapshot a member not running cannot send.
  const removeDownListener = deps.peers?.onMemberDown?.((member, reason) => {
    if (reason !== 'left') state.holdMemberClients(member);
    // Only a certain reason ends the wait: a running member can look lost, unreachable or unhealthy.
    if (CERTAIN_DOWN_REASONS.has(reason)) startup.memberDown(member);
  });

  return {
    reader: state,
    stats: state,
    close: async () => {
      removeListener();
      removeUpListener?.();
      removeDownListener?.();
      startup.close();
      push.close();
      await sync?.close();
      // After the sync's last send: nothing here changes once the node is closed (an embedding process goes on).
      state.close();
    },
  };
}
