// A NamingClient that registers one instance, in a process of its own, so a test can SIGKILL it
// as a crashed service (its pid is in the first event) or watch it move between members.
// Prints JSON lines: `registered` (pid, server), then `connected` (server) on every reconnect;
// `quit` on stdin shuts it down.
// Usage: node --import tsx test/support/naming-publisher.ts <ip:port,...> <service> <instance ip> <instance port>
import { createInterface } from 'node:readline';
import pino from 'pino';
import { NamingClient } from '../../src/client/index.js';

const [servers = '', service = 'orders', ip = '10.0.0.1', port = '80'] = process.argv.slice(2);
const emit = (event: string, fields: Record<string, unknown> = {}): void => console.log(JSON.stringify({ event, ...fields }));

const naming = new NamingClient({
  serverAddresses: servers.split(','),
  logger: pino({ level: 'silent' }),
  keepAliveMs: 1000,
  healthCheckTimeoutMs: 500,
  redoIntervalMs: 500,
});
await naming.start();
await naming.registerInstance(service, { ip, port: Number(port) });
emit('registered', { pid: process.pid, server: naming.rpcClient.currentServer() });
naming.rpcClient.on('connected', (_id, server) => emit('connected', { server }));

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'quit') void naming.shutdown().then(() => process.exit(0));
});
