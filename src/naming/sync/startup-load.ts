import { ConnectionClosedError, type Timers } from '../../protocol/index.js';
import type { RequestHandler } from '../../server/handlers/index.js';

/** How a wait on the load ended: the load is complete, the wait's cap ran out first, or the node closed. */
export type LoadWaitEnd = 'loaded' | 'capped' | 'closed';

/** A wait on a member's start-up load, over at the load or at its cap, whichever comes first. */
export interface LoadWait {
  readonly isOver: boolean;
  /** Resolves once the wait is over, with why. */
  readonly over: Promise<LoadWaitEnd>;
}

/**
 * Whether a member that just started has the other members' naming data: loaded once each of them
 * has sent its whole snapshot or been found down. What waits for it (SDK clients held away, reads)
 * waits through a {@link LoadWait} with its own cap, for a member that neither sends nor is found
 * down; the caps run from {@link startClock}, the server's start (docs/naming.md, After a start).
 */
export class StartupLoad {
  private readonly waiting: Set<string>;
  /** Members whose snapshot was applied: never waited for again. */
  private readonly received = new Set<string>();
  private loadedFlag = false;
  private closed = false;
  private clockStarted = false;
  /** The waits not over yet: the load or close() ends them all. */
  private readonly waits = new Set<CappedWait>();

  constructor(
    others: readonly string[],
    private readonly timers: Pick<Timers, 'setTimeout'>,
  ) {
    this.waiting = new Set(others);
    if (this.waiting.size === 0) this.loadedFlag = true;
  }

  /** The members whose snapshot has neither arrived nor been given up on (they are up, or not known down). */
  get awaited(): readonly string[] {
    return [...this.waiting];
  }

  /**
   * A wait that is over once loaded, or `capMs` after {@link startClock} (0: over now, whatever
   * has arrived).
   */
  waitAtMost(capMs: number): LoadWait {
    if (this.loadedFlag) return overAlready('loaded');
    if (this.closed) return overAlready('closed');
    if (capMs === 0) return overAlready('capped');
    const wait = new CappedWait(this.timers, capMs, () => this.waits.delete(wait));
    this.waits.add(wait);
    if (this.clockStarted) wait.startCap();
    return wait;
  }

  /** The server started: the waits' caps run from now, so a slow start of the node does not eat into them. */
  startClock(): void {
    if (this.clockStarted) return;
    this.clockStarted = true;
    for (const wait of this.waits) wait.startCap();
  }

  /** A member's snapshot has been applied. */
  snapshotReceived(member: string): void {
    this.received.add(member);
    this.stopWaitingFor(member);
  }

  /**
   * The member is certainly not running (its connect was refused, its link ended, it left the
   * members): it cannot send a snapshot, so nothing waits for it, unless it is heard from again.
   */
  memberDown(member: string): void {
    this.stopWaitingFor(member);
  }

  /**
   * The member is up (our link to it came up, or it asked for our snapshot): while the load is
   * incomplete, a member given up on earlier and whose snapshot has not arrived is waited for
   * again, so a down report that was wrong does not leave this member with part of the data.
   */
  memberHeard(member: string): void {
    if (this.loadedFlag || this.closed || this.received.has(member)) return;
    this.waiting.add(member);
  }

  /** Ends every wait (a node's close): reads waiting are answered, the caps' timers cancelled. */
  close(): void {
    this.closed = true;
    this.endWaits('closed');
  }

  private stopWaitingFor(member: string): void {
    if (this.loadedFlag || !this.waiting.delete(member) || this.waiting.size > 0) return;
    this.loadedFlag = true;
    this.endWaits('loaded');
  }

  private endWaits(how: LoadWaitEnd): void {
    for (const wait of [...this.waits]) wait.end(how);
  }
}

/** A wait its cap ends unless the load (or a close) ends it first. */
class CappedWait implements LoadWait {
  private overFlag = false;
  private resolve!: (how: LoadWaitEnd) => void;
  readonly over = new Promise<LoadWaitEnd>((resolve) => (this.resolve = resolve));
  private cancelCap: (() => void) | undefined;

  constructor(
    private readonly timers: Pick<Timers, 'setTimeout'>,
    private readonly capMs: number,
    private readonly ended: () => void,
  ) {}

  startCap(): void {
    if (this.overFlag || this.cancelCap !== undefined) return;
    this.cancelCap = this.timers.setTimeout(() => this.end('capped'), this.capMs);
  }

  get isOver(): boolean {
    return this.overFlag;
  }

  end(how: LoadWaitEnd): void {
    if (this.overFlag) return;
    this.overFlag = true;
    this.cancelCap?.();
    this.ended();
    this.resolve(how);
  }
}

function overAlready(how: LoadWaitEnd): LoadWait {
  return { isOver: true, over: Promise.resolve(how) };
}

/**
 * A handler that answers once the wait is over. A connection that closed while it waited is
 * answered with an error and left alone: its naming state was released already, and a
 * subscription made now would never be.
 */
export function afterLoad(wait: LoadWait, handler: RequestHandler): RequestHandler {
  return async (request, meta) => {
    if (wait.isOver) return handler(request, meta);
    await wait.over;
    if (!meta.connection.connected) throw new ConnectionClosedError(`connection ${meta.connectionId} closed while the member was loading`);
    return handler(request, meta);
  };
}
