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
 * waits through a {@link LoadWait} with its own cap, for a member that neither sends nor fails
 * (docs/naming.md, After a start).
 */
export class StartupLoad {
  private readonly waiting: Set<string>;
  private loadedFlag = false;
  private closed = false;
  /** The waits not over yet: the load or close() ends them all. */
  private readonly waits = new Set<CappedWait>();

  constructor(
    others: readonly string[],
    private readonly timers: Pick<Timers, 'setTimeout'>,
  ) {
    this.waiting = new Set(others);
    if (this.waiting.size === 0) this.loadedFlag = true;
  }

  get isLoaded(): boolean {
    return this.loadedFlag;
  }

  /** The members whose snapshot has neither arrived nor been given up on (they are up, or not known down). */
  get awaited(): readonly string[] {
    return [...this.waiting];
  }

  /** A wait that is over once loaded, or `capMs` from now (0: over now, whatever has arrived). */
  waitAtMost(capMs: number): LoadWait {
    if (this.loadedFlag) return overAlready('loaded');
    if (this.closed) return overAlready('closed');
    if (capMs === 0) return overAlready('capped');
    const wait = new CappedWait(this.timers, capMs, () => this.waits.delete(wait));
    this.waits.add(wait);
    return wait;
  }

  /** A member's snapshot has been applied. */
  snapshotReceived(member: string): void {
    this.stopWaitingFor(member);
  }

  /** The link to a member is down (or never came up): it cannot send a snapshot, so nothing waits for it. */
  memberDown(member: string): void {
    this.stopWaitingFor(member);
  }

  /** Ends every wait (a node's close): reads waiting are answered, the caps' timers cancelled. */
  close(): void {
    this.closed = true;
    this.endWaits('closed');
  }

  private stopWaitingFor(member: string): void {
    if (!this.waiting.delete(member) || this.waiting.size > 0) return;
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
  private readonly cancelCap: () => void;

  constructor(
    timers: Pick<Timers, 'setTimeout'>,
    capMs: number,
    private readonly ended: () => void,
  ) {
    this.cancelCap = timers.setTimeout(() => this.end('capped'), capMs);
  }

  get isOver(): boolean {
    return this.overFlag;
  }

  end(how: LoadWaitEnd): void {
    if (this.overFlag) return;
    this.overFlag = true;
    this.cancelCap();
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
