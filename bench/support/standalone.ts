// Running a benchmark server module as its own process: `node --import tsx <file> --host H --port P
// [--home DIR]` prints one JSON line `{"ready":true,"port":N}` once listening, and exits when stdin closes
// (its parent went away) or on SIGTERM/SIGINT. While it runs, it answers commands on stdin, one
// per line, with one JSON line `{"reply":"<command>",...}` (see BenchCommand): the connection
// benchmark reads the server's memory, fan-out and close timings this way.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Time until every bi-stream answered one pushed message. */
export interface FanOutResult {
  readonly streams: number;
  readonly acks: number;
  readonly ms: number;
}

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
  /** Pushes one ClientDetectionRequest on every open bi-stream and waits for every answer. */
  fanOut(timeoutMs: number): Promise<FanOutResult>;
  /**
   * When each connection that ended since the last call was seen gone (and, for our node, unregistered
   * with listeners told), as epoch ms with sub-ms precision (`epochNow`), keyed by client `ip:port`.
   */
  takeCloses(): Record<string, number>;
}

export type BenchCommand = 'memory' | 'fanout' | 'closes';

/** Wall-clock ms with sub-ms precision, comparable between processes on one machine. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Whether the module with this `import.meta.url` is the process's entry point. */
export function isEntryPoint(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(importMetaUrl);
}

/** RSS, and heap used after a full GC when the process runs with --expose-gc. */
function memory(): { rss: number; heapUsed: number | null } {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: collect === undefined ? null : usage.heapUsed };
}

/** Options a server module may take besides where to listen. */
export interface ServerModuleOptions {
  /** A node config file (`--config`, as the CLI's): our node only, e.g. to choose its config store. */
  readonly configFile?: string;
  /**
   * A dir for the server's files, made and removed by the parent (`--home`): removed even when the
   * start times out or the process is killed. Without it, a server that needs one makes its own.
   */
  readonly home?: string;
}

export async function serveStandalone(start: (host: string, port: number, options: ServerModuleOptions) => Promise<RunningServer>): Promise<void> {
  const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, config: { type: 'string' }, home: { type: 'string' } } });
  const server = await start(values.host, Number(values.port), {
    ...(values.config === undefined ? {} : { configFile: values.config }),
    ...(values.home === undefined ? {} : { home: values.home }),
  });
  console.log(JSON.stringify({ ready: true, port: server.port }));
  const stop = () => void server.close().finally(() => process.exit(0));
  const reply = (command: BenchCommand, body: object) => console.log(JSON.stringify({ reply: command, ...body }));
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      const command = line.trim() as BenchCommand;
      if (command === 'memory') reply(command, memory());
      else if (command === 'closes') reply(command, { closes: server.takeCloses() });
      else if (command === 'fanout') {
        server.fanOut(60_000).then(
          (result) => reply(command, result),
          (error: unknown) => reply(command, { error: String(error) }),
        );
      }
    })
    .on('close', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
