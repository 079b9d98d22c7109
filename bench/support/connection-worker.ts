// A connection-holding driver process for the connection benchmark (forked by connections.ts):
// opens and registers its share of idle connections (raw node:http2 with our codec, answering
// pushes), and drops some of them on request, noting when it did.
// Protocol over IPC: open → opened, drop → dropped, exit on disconnect.
import type { H2GrpcConnection } from './h2-grpc-client.js';
import { ConnectionRamp, type OpenPlan } from './open-lanes.js';
import { epochNow } from './standalone.js';

export type ToConnectionWorker =
  | ({ readonly type: 'open' } & OpenPlan)
  | { readonly type: 'drop'; readonly count: number; readonly intervalMs: number };

export type FromConnectionWorker =
  | { readonly type: 'opened'; readonly opened: number; readonly errors: number; readonly firstError?: string; readonly ms: number }
  /** When each dropped connection was destroyed (epoch ms), by `ip:port` of this end. */
  | { readonly type: 'dropped'; readonly droppedAt: Record<string, number> }
  | { readonly type: 'failed'; readonly error: string };

const connections: H2GrpcConnection[] = [];
const ramp = new ConnectionRamp();

async function open(message: Extract<ToConnectionWorker, { type: 'open' }>): Promise<FromConnectionWorker> {
  const started = performance.now();
  const tally = await ramp.open(message, async (connection) => {
    connections.push(connection);
    await connection.register();
  });
  return { type: 'opened', ...tally, ms: performance.now() - started };
}

async function drop(count: number, intervalMs: number): Promise<FromConnectionWorker> {
  const droppedAt: Record<string, number> = {};
  for (let i = 0; i < count && connections.length > 0; i++) {
    const connection = connections.pop()!;
    droppedAt[`${connection.localAddress}:${connection.localPort}`] = epochNow();
    connection.destroy();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return { type: 'dropped', droppedAt };
}

process.on('message', (message: ToConnectionWorker) => {
  const reply = (work: Promise<FromConnectionWorker>) =>
    work.then(
      (result) => process.send!(result),
      (error: unknown) => process.send!({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies FromConnectionWorker),
    );
  if (message.type === 'open') reply(open(message));
  else reply(drop(message.count, message.intervalMs));
});
// The parent went away: the connections go with this process.
process.on('disconnect', () => process.exit(0));
