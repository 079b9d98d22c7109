import type { Logger } from 'pino';
import type { Timers } from '../../protocol/index.js';

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
}

export interface ShedProgress {
  readonly active: boolean;
  /** Resets still to be acknowledged for the current budget. */
  readonly remaining: number;
  readonly inFlight: number;
  readonly redirectAddress?: string;
}

/**
 * Sheds connections as a one-shot budget (decision 10.13): `budget` acknowledged resets, sent at a
 * bounded rate, never all in one tick. It does not re-read the live count, which lags while
 * clients move. A new budget replaces the current one, as Nacos's `loadCount` overwrites.
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

  constructor(
    private readonly target: ShedTarget,
    private readonly timers: Timers,
    private readonly options: ShedPacerOptions,
    private readonly logger: Logger,
  ) {}

  get progress(): ShedProgress {
    return {
      active: this.cancelTick !== undefined,
      remaining: this.remaining,
      inFlight: this.inFlight.size,
      ...(typeof this.current.redirect === 'string' ? { redirectAddress: this.current.redirect } : {}),
    };
  }

  /**
   * Starts shedding `budget` connections, replacing any budget in progress. `redirect` is an
   * address, or a function choosing one per reset (spreading clients over several members);
   * `eligible` narrows the candidates (one client IP's surplus, connections past a cool-down);
   * `ratePerSecond` overrides the configured rate for this budget.
   */
  start(budget: number, options: ShedOptions = {}): void {
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
