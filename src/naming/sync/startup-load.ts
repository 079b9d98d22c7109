import { ConnectionClosedError, type Timers } from '../../protocol/index.js';
import type { RequestHandler } from '../../server/handlers/index.js';

/**
 * Whether a member that just started has the other members' naming data: until each of them has
 * sent its snapshot or is found down (or `waitMs` has passed, for a member that never answers),
 * subscribes and queries wait, so a restarted member never answers a subscriber with the part of a
 * service it has so far (docs/naming.md, Member failures).
 */
export class StartupLoad {
  private readonly waiting: Set<string>;
  private finished = false;
  private finish!: () => void;
  private readonly cancelWait: () => void;
  /** Resolves once loaded. */
  readonly loaded = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(others: readonly string[], timers: Pick<Timers, 'setTimeout'>, waitMs: number) {
    this.waiting = new Set(others);
    this.cancelWait = waitMs === 0 ? () => undefined : timers.setTimeout(() => this.done(), waitMs);
    if (this.waiting.size === 0 || waitMs === 0) this.done();
  }

  get isLoaded(): boolean {
    return this.finished;
  }

  /** A member's snapshot has been applied. */
  snapshotReceived(member: string): void {
    this.stopWaitingFor(member);
  }

  /** The link to a member is down (or never came up): it cannot send a snapshot, so reads do not wait for it. */
  memberDown(member: string): void {
    this.stopWaitingFor(member);
  }

  /** Ends the wait (a node's close): reads waiting are answered, the timer is cancelled. */
  close(): void {
    this.done();
  }

  private stopWaitingFor(member: string): void {
    this.waiting.delete(member);
    if (this.waiting.size === 0) this.done();
  }

  private done(): void {
    this.finished = true;
    this.cancelWait();
    this.finish();
  }
}

/**
 * A handler that answers once the member has the others' data. A connection that closed while it
 * waited is answered with an error and left alone: its naming state was released already, and a
 * subscription made now would never be.
 */
export function afterLoad(startup: StartupLoad, handler: RequestHandler): RequestHandler {
  return async (request, meta) => {
    if (startup.isLoaded) return handler(request, meta);
    await startup.loaded;
    if (!meta.connection.connected) throw new ConnectionClosedError(`connection ${meta.connectionId} closed while the member was loading`);
    return handler(request, meta);
  };
}
