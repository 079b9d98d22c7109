// Running a benchmark server module as its own process: `node --import tsx <file> --host H --port P`
// prints one JSON line `{"ready":true,"port":N}` once listening, and exits when stdin closes
// (its parent went away) or on SIGTERM/SIGINT.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Whether the module with this `import.meta.url` is the process's entry point. */
export function isEntryPoint(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(importMetaUrl);
}

export async function serveStandalone(start: (host: string, port: number) => Promise<RunningServer>): Promise<void> {
  const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } } });
  const server = await start(values.host, Number(values.port));
  console.log(JSON.stringify({ ready: true, port: server.port }));
  const stop = () => void server.close().finally(() => process.exit(0));
  process.stdin.on('end', stop).resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
