// A fleet of NamingClients in its own process, each registering one instance of a shared service
// (`<prefix>.<i / 250>.<i % 250 + 1>:8080`), so a test can SIGKILL them together or watch them move.
// Prints JSON lines: `ready` (instances, perServer) once every client has registered, then `stats`
// (perServer) on request; `quit` on stdin shuts them down.
// Usage: node --import tsx test/support/naming-fleet.ts <count> <ip:port,...> <service> <ip prefix, e.g. 10.40>
import { createInterface } from 'node:readline';
import pino from 'pino';
import { ClientStatus, NamingClient } from '../../src/client/index.js';

const count = Number(process.argv[2] ?? 30);
const servers = (process.argv[3] ?? '').split(',');
const service = process.argv[4] ?? 'orders';
const prefix = process.argv[5] ?? '10.40';
const logger = pino({ level: 'silent' });

const instances = Array.from({ length: count }, (_, i) => ({ ip: `${prefix}.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 8080 }));
// Health checks patient enough for a loaded machine: a slow answer is not a lost member.
const clients = instances.map(
  () => new NamingClient({ serverAddresses: servers, logger, keepAliveMs: 1000, healthCheckTimeoutMs: 2000, redoIntervalMs: 500 }),
);
/** Starts a client, trying again while no member answers in time (the machine may be loaded). */
async function startPatiently(client: NamingClient): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.start();
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}
await Promise.all(
  clients.map(async (client, i) => {
    await startPatiently(client);
    await client.registerInstance(service, instances[i]!);
  }),
);

const perServer = (): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const { rpcClient } of clients) {
    const server = rpcClient.status === ClientStatus.RUNNING ? (rpcClient.currentServer() ?? 'none') : 'unconnected';
    counts[server] = (counts[server] ?? 0) + 1;
  }
  return counts;
};
console.log(JSON.stringify({ event: 'ready', instances: instances.map((x) => `${x.ip}:${x.port}`), perServer: perServer() }));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') console.log(JSON.stringify({ event: 'stats', perServer: perServer() }));
  if (line === 'quit') void Promise.all(clients.map((c) => c.shutdown())).then(() => process.exit(0));
});
