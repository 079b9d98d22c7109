import type { Logger } from 'pino';
import { ErrorCode, NacosRemoteError, type Timers } from '../../protocol/index.js';

/**
 * Who asked for a shed budget, lowest first: the balancer's own moves, an operator's (reloadCurrent,
 * a limit PUT, smartReloadCluster, ServerReloadRequest), a drain's. A higher one pre-empts a
 * lower one; a lower one is refused while a higher one runs.
 */
export const ShedPriority = { BALANCER: 0, OPERATOR: 1, DRAIN: 2 } as const;
export type ShedPriority = (typeof ShedPriority)[keyof typeof ShedPriority];

const PRIORITY_NAMES: Record<ShedPriority, string> = { 0: 'balancer', 1: 'operator', 2: 'drain' };

/** A shed budget was refused: one of higher priority owns this member's shedding (HTTP 409, Nacos CONFLICT). */
export class ShedBusyError extends NacosRemoteError {
  constructor(
    readonly requested: ShedPriority,
    readonly running: ShedPriority,
  ) {
    super('SHED_BUSY', ErrorCode.CONFLICT, `a ${PRIORITY_NAMES[running]} shed budget is running on this member; the ${PRIORITY_NAMES[requested]} one is refused`);
  }
}

/** What the pacer needs from the connection manager. */
export interface ShedTarget {
  /** Ids of connections that may be shed, oldest first. */
  sheddableIds(): string[];
  /** Sends one ConnectResetRequest; resolves true when the client acknowledged it. */
  resetConnection(connectionId: string, redirectAddress: string | undefined): Promise<boolean>;
}

export interface ShedPacerOptions {
  /** Resets sent per second at most. */
  ratePerSecond: number;
  /** Pacing tick; each tick sends up to ratePerSecond × tick / 1000 resets. */
  tickMs: number;
}

/** Where shed clients go: an `ip:port`, a choice per reset, or nowhere in particular. */
export type RedirectChoice = string | (() => string | undefined) | undefined;

export interface ShedOptions {
  readonly redirect?: RedirectChoice;
  readonly eligible?: (connectionId: string) => boolean;
  readonly ratePerSecond?: number;
  /** Who asks; default operator. */
  readonly priority?: ShedPriority;
}

export interface ShedProgress {
  readonly active: boolean;
  /** Resets still to be acknowledged for the current budget. */
  readonly remaining: number;
  readonly inFlight: number;
  readonly redirectAddress?: string;
  /** Who owns the running budget, or the reservation (a drain between its rounds). */
  readonly owner?: string;
}

/**
 * Sheds connections as a one-shot budget (decision 10.13): `budget` acknowledged resets, sent at a
 * bounded rate, never all in one tick. It does not re-read the live count, which lags while
 * clients move. One budget runs at a time: a new one of the same or higher priority replaces the
 * current one (as Nacos's `loadCount` overwrites), a lower one is refused with {@link ShedBusyError}.
 */
export class ShedPacer {
  private remaining = 0;
  private readonly inFlight = new Set<string>();
  /** Connections this budget already asked to move. */
  private readonly tried = new Set<string>();
  private cancelTick: (() => void) | undefined;
  private generation = 0;
  private carry = 0;
  private current: ShedOptions = {};
  /** Held by a drain for its whole run, so nothing lower slips in between its rounds. */
  private reserved: ShedPriority | undefined;

  constructor(
    private readonly target: ShedTarget,
    private readonly timers: Timers,
    private readonly options: ShedPacerOptions,
    private readonly logger: Logger,
  ) {}

  get progress(): ShedProgress {
    const owner = this.owner();
    return {
      active: this.cancelTick !== undefined,
      remaining: this.remaining,
      inFlight: this.inFlight.size,
      ...(typeof this.current.redirect === 'string' ? { redirectAddress: this.current.redirect } : {}),
      ...(owner === undefined ? {} : { owner: PRIORITY_NAMES[owner] }),
    };
  }

  /** The priority that a new budget must match or beat, if any. */
  private owner(): ShedPriority | undefined {
    const running = this.cancelTick === undefined ? undefined : (this.current.priority ?? ShedPriority.OPERATOR);
    if (running === undefined) return this.reserved;
    return this.reserved === undefined ? running : (Math.max(running, this.reserved) as ShedPriority);
  }

  /** @throws ShedBusyError when a budget of higher priority runs or is reserved */
  assertCanStart(priority: ShedPriority): void {
    const owner = this.owner();
    if (owner !== undefined && owner > priority) throw new ShedBusyError(priority, owner);
  }

  /** Keeps lower budgets out until the returned release is called (a drain, across its rounds). */
  reserve(priority: ShedPriority): () => void {
    this.assertCanStart(priority);
    this.reserved = priority;
    return () => {
      if (this.reserved === priority) this.reserved = undefined;
    };
  }

  /**
   * Starts shedding `budget` connections, replacing any budget in progress. `redirect` is an
   * address, or a function choosing one per reset (spreading clients over several members);
   * `eligible` narrows the candidates (one client IP's surplus, connections past a cool-down);
   * `ratePerSecond` overrides the configured rate for this budget.
   * @throws ShedBusyError when a budget of higher priority runs (it keeps running)
   */
  start(budget: number, options: ShedOptions = {}): void {
    const priority = options.priority ?? ShedPriority.OPERATOR;
    this.assertCanStart(priority);
    if (this.cancelTick !== undefined) {
      const running = this.current.priority ?? ShedPriority.OPERATOR;
      if (priority > running) {
        this.logger.info({ preempted: PRIORITY_NAMES[running], by: PRIORITY_NAMES[priority], remaining: this.remaining }, 'shed budget pre-empted');
      }
    }
    this.stop();
    if (budget <= 0) return;
    this.generation++;
    this.remaining = budget;
    this.current = options;
    // A new budget may ask anyone again: a client that acknowledged but stayed is fair game.
    this.tried.clear();
    this.logger.info({ budget, redirectAddress: typeof options.redirect === 'string' ? options.redirect : undefined }, 'shedding connections');
    this.tick();
  }

  stop(): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
    this.remaining = 0;
    this.carry = 0;
    this.inFlight.clear();
  }

  private tick(): void {
    this.cancelTick = undefined;
    const perTick = ((this.current.ratePerSecond ?? this.options.ratePerSecond) * this.options.tickMs) / 1000;
    // Unused allowance does not pile up into a burst later.
    this.carry = Math.min(this.carry + perTick, Math.max(1, perTick));
    let slots = Math.min(Math.floor(this.carry), this.remaining - this.inFlight.size);
    this.carry -= Math.max(0, slots);
    const generation = this.generation;
    if (slots > 0) {
      const all = this.target.sheddableIds();
      const eligible = this.current.eligible;
      for (const id of all) {
        if (slots <= 0) break;
        if (this.tried.has(id) || this.inFlight.has(id) || (eligible !== undefined && !eligible(id))) continue;
        slots--;
        this.tried.add(id);
        this.inFlight.add(id);
        const redirect = this.current.redirect;
        void this.target.resetConnection(id, typeof redirect === 'function' ? redirect() : redirect).then(
          (acked) => this.settle(generation, id, acked),
          () => this.settle(generation, id, false),
        );
      }
    }
    const exhausted = this.inFlight.size === 0 && slots > 0; // had room but found no candidate
    if (this.remaining <= 0 || exhausted) {
      this.finish();
      return;
    }
    this.cancelTick = this.timers.setTimeout(() => this.tick(), this.options.tickMs);
  }

  private settle(generation: number, id: string, acked: boolean): void {
    if (generation !== this.generation) return;
    this.inFlight.delete(id);
    if (acked) this.remaining--;
    if (this.remaining <= 0) this.finish();
  }

  private finish(): void {
    if (this.remaining > 0) this.logger.info({ remaining: this.remaining }, 'shedding ended: no more connections to shed');
    this.stop();
  }
}
