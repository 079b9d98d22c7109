import type { NacosNode } from '../node/index.js';

/** The part of `process` the signal handling uses (a stand-in in tests). */
export interface SignalProcess {
  on(event: 'SIGTERM' | 'SIGINT', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/** The part of a node the signal handling uses. */
export type StoppableNode = Pick<NacosNode, 'closed' | 'drain' | 'logger'>;

/**
 * SIGTERM/SIGINT drain the node (clients moved to other members, then close) and exit 0; so does
 * a drain started over HTTP. A second signal, or a drain that hangs, forces the exit. The handlers
 * are installed before the node starts: a signal that arrives while it starts (right after its
 * 'node started' line, say) is acted on once it is up, instead of killing the process by the
 * signal's default action. Returns what to call with the started node.
 */
export function exitOnSignals(proc: SignalProcess, forceAfterMs: () => number): (node: StoppableNode) => void {
  let node: StoppableNode | undefined;
  let pending: NodeJS.Signals | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (node === undefined) {
      if (pending !== undefined) proc.exit(1);
      pending = signal;
      return;
    }
    if (stopping) return proc.exit(1);
    stopping = true;
    const running = node;
    running.logger.info({ signal }, 'stopping: draining');
    setTimeout(() => {
      running.logger.error('stopping took too long; exiting');
      proc.exit(1);
    }, forceAfterMs()).unref();
    running.drain().catch((error: unknown) => {
      running.logger.error({ err: error }, 'drain failed');
      proc.exit(1);
    });
  };
  proc.on('SIGTERM', stop);
  proc.on('SIGINT', stop);
  return (started) => {
    node = started;
    void started.closed.then(() => proc.exit(0));
    if (pending !== undefined) stop(pending);
  };
}
