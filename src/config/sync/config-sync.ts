import type { Logger } from 'pino';
import { requireTrustedMember, type MemberPeers } from '../../cluster/member-messages.js';
import { groupKey, type ConfigKey } from '../../protocol/config/index.js';
import { InvalidBodyError, response, type ResponseMessage, type Timers } from '../../protocol/index.js';
import type { RequestHandler } from '../../server/handlers/index.js';
import { storedNamespace } from '../keys.js';
import type { CachedConfigStore } from '../store/cached.js';
import { ConfigChangeClusterSyncRequest, ConfigChangeClusterSyncResponse } from './messages.js';

/** How members of a cluster on a shared database keep each other's listeners told (docs/config.md). */
export interface ConfigSyncOptions {
  /** Each member reads the history table for changes it was not told of this often; default 30 000 ms. */
  readonly catchUpMs: number;
  /** Whether a change is announced to the other members; false leaves it to the catch-up (a test hook). */
  readonly announce: boolean;
  /** An announcement not answered within this is given up (the catch-up covers it). */
  readonly announceTimeoutMs: number;
}

/** History rows read per query. */
const CHANGES_PAGE = 500;
/**
 * History ids are handed out when a row is inserted and seen when its transaction commits, so a
 * lower id can appear after a higher one was read: each round reads this many ids back again and
 * handles those it has not seen.
 */
const CURSOR_OVERLAP = 200;

/**
 * One member's side of config across members: announces its own changes to the others, re-reads
 * a key another member announces, and every `catchUpMs` reads the history table past its cursor,
 * so a listener here ends with the latest content even if every announcement is lost. A key whose
 * md5 differs from the member's copy is handed to `changed` (its listeners are notified).
 */
export class ConfigSync {
  /** Newest history id handled; undefined until the first round has loaded the whole table. */
  private cursor: number | undefined;
  private readonly seen = new Set<number>();
  private cancelTimer: (() => void) | undefined;
  private round: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: CachedConfigStore,
    private readonly changed: (key: ConfigKey) => void,
    private readonly peers: MemberPeers,
    private readonly timers: Timers,
    private readonly options: ConfigSyncOptions,
    private readonly logger: Logger,
  ) {}

  /** Loads the table now (in the background) and catches up every catchUpMs from then on. */
  start(): void {
    void this.catchUp();
  }

  /** Tells the other members that this member changed `key`; failures are left to their catch-up. */
  announce(key: ConfigKey, lastModified: number): void {
    if (!this.options.announce || this.closed) return;
    const message = { kind: 'request' as const, type: ConfigChangeClusterSyncRequest.type, headers: {}, body: { dataId: key.dataId, group: key.group, tenant: key.tenant, lastModified } };
    for (const member of this.peers.others()) {
      this.peers.request(member, message, { timeoutMs: this.options.announceTimeoutMs, expect: ConfigChangeClusterSyncResponse }).catch((error: unknown) => {
        this.logger.debug({ member, key: groupKey(key), err: error }, 'config change announcement not delivered: the member catches up by itself');
      });
    }
  }

  /** Another member changed `key`: re-read it, and tell listeners here if its content differs. */
  async announced(key: ConfigKey): Promise<void> {
    try {
      if (await this.store.refresh(key)) this.changed(key);
    } catch (error) {
      // The database away: the history row stays unseen and the catch-up reads it once it is back.
      this.logger.debug({ key: groupKey(key), err: error }, 'announced config change not read: the catch-up will');
    }
  }

  /** A beta or tag config changed (a Nacos member's): this server keeps neither, so nothing here changed. */
  ignoredVariant(key: ConfigKey, variant: 'beta' | 'tag'): void {
    this.logger.debug({ key: groupKey(key), variant }, 'announced change of a beta or tag config ignored: not kept here');
  }

  /** One catch-up round (at most one at a time); the next is scheduled when it ends. */
  catchUp(): Promise<void> {
    this.round ??= this.runRound().finally(() => {
      this.round = undefined;
      if (!this.closed) {
        this.cancelTimer?.();
        this.cancelTimer = this.timers.setTimeout(() => void this.catchUp(), this.options.catchUpMs);
      }
    });
    return this.round;
  }

  /** Stops the rounds; one under way finishes. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    await this.round;
  }

  private async runRound(): Promise<void> {
    const mark = this.store.catchUpBegins();
    try {
      if (this.cursor === undefined) await this.loadAll();
      else await this.readChanges(this.cursor);
      this.store.caughtUp(mark);
    } catch (error) {
      this.store.catchUpFailed();
      this.logger.warn({ err: error }, 'config catch-up failed: trying again at the next round');
    }
  }

  /** The first round: the whole table, and the cursor at the history's end as it was before. */
  private async loadAll(): Promise<void> {
    const latest = await this.store.latestChange();
    for (const key of await this.store.load()) this.changed(key);
    this.cursor = latest;
  }

  private async readChanges(cursor: number): Promise<void> {
    const floor = Math.max(0, cursor - CURSOR_OVERLAP);
    const keys = new Map<string, { readonly key: ConfigKey; readonly nids: number[] }>();
    for (let after = floor; ; ) {
      const marks = await this.store.changesAfter(after, CHANGES_PAGE);
      // Unseen ids at or below the cursor are late commits (or rows from before the first round:
      // read again harmlessly, the md5 decides whether anyone is told).
      for (const mark of marks.filter((m) => !this.seen.has(m.nid))) {
        const id = groupKey(mark);
        let entry = keys.get(id);
        if (entry === undefined) keys.set(id, (entry = { key: { dataId: mark.dataId, group: mark.group, tenant: mark.tenant }, nids: [] }));
        entry.nids.push(mark.nid);
      }
      if (marks.length < CHANGES_PAGE) break;
      after = marks[marks.length - 1]!.nid;
    }
    // Each key on its own: one that fails leaves its ids unseen (and the cursor before them) for
    // the next round, and the others are still read and told.
    let failure: unknown;
    let oldestFailed = Infinity;
    let newest = cursor;
    for (const { key, nids } of keys.values()) {
      try {
        if (await this.store.refresh(key)) this.changed(key);
      } catch (error) {
        failure ??= error;
        oldestFailed = Math.min(oldestFailed, ...nids);
        continue;
      }
      for (const nid of nids) {
        this.seen.add(nid);
        newest = Math.max(newest, nid);
      }
    }
    this.cursor = Math.min(newest, Math.max(cursor, oldestFailed - 1));
    for (const nid of this.seen) if (nid <= this.cursor - CURSOR_OVERLAP) this.seen.delete(nid);
    if (failure !== undefined) throw failure;
  }
}

/** The receiving end: a trusted member's announcement is read before it is answered. */
export function configSyncHandler(sync: ConfigSync): RequestHandler {
  return async (request, meta): Promise<ResponseMessage> => {
    requireTrustedMember(meta, request.type);
    if (!ConfigChangeClusterSyncRequest.is(request)) throw new InvalidBodyError('Invalid request');
    const { dataId, group, tenant, tag, beta } = request.body;
    const key = { dataId, group, tenant: storedNamespace(tenant) };
    if (beta === true || (tag ?? '').trim() !== '') sync.ignoredVariant(key, beta === true ? 'beta' : 'tag');
    else await sync.announced(key);
    return response(ConfigChangeClusterSyncResponse.type);
  };
}
