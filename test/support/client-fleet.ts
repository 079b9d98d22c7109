// A fleet of RpcClients in its own process (so the test's event loop does not carry them), each
// sending a HealthCheck every few hundred ms. Prints JSON lines: `ready`, then `stats` on request.
// Failed requests are counted except while a client has lost its connection and has no
// replacement yet (its server was killed), as the balancing scenario defines them.
// Usage: node --import tsx test/support/client-fleet.ts <count> <ip:port,...> [intervalMs]
import { createInterface } from 'node:readline';
import pino from 'pino';
import { ClientStatus, RpcClient } from '../../src/client/index.js';
import { request } from '../../src/protocol/index.js';

const count = Number(process.argv[2] ?? 90);
const servers = (process.argv[3] ?? '').split(',');
const intervalMs = Number(process.argv[4] ?? 300);
const logger = pino({ level: 'silent' });

interface Member {
  client: RpcClient;
  orphaned: boolean;
  losses: number;
}
const fleet: Member[] = [];
let failed = 0;
let failedWhileOrphaned = 0;
let requests = 0;
let running = true;

for (let i = 0; i < count; i++) {
  const client = new RpcClient({ serverAddresses: servers, logger, keepAliveMs: 2000, healthCheckTimeoutMs: 1000 });
  const member: Member = { client, orphaned: false, losses: 0 };
  client.on('lost', () => {
    member.orphaned = true;
    member.losses++;
  });
  client.on('connected', () => (member.orphaned = false));
  fleet.push(member);
}
await Promise.all(fleet.map((m) => m.client.start().catch(() => undefined)));

async function loop(member: Member): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
  while (running) {
    const orphanedAtStart = member.orphaned;
    const lossesAtStart = member.losses;
    requests++;
    try {
      await member.client.request(request('HealthCheckRequest'));
    } catch {
      // From the kill until the reconnect: lost before, during, or still lost at the end.
      if (orphanedAtStart || member.orphaned || member.losses !== lossesAtStart) failedWhileOrphaned++;
      else failed++;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
const loops = fleet.map((m) => loop(m));

const stats = () => {
  const perServer: Record<string, number> = {};
  for (const m of fleet) {
    const s = m.client.status === ClientStatus.RUNNING ? (m.client.currentServer() ?? 'none') : 'unconnected';
    perServer[s] = (perServer[s] ?? 0) + 1;
  }
  return { event: 'stats', perServer, failed, failedWhileOrphaned, requests };
};
console.log(JSON.stringify({ ...stats(), event: 'ready' }));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stats') console.log(JSON.stringify(stats()));
  if (line === 'quit') {
    running = false;
    void Promise.all(loops)
      .then(() => Promise.all(fleet.map((m) => m.client.shutdown())))
      .then(() => {
        console.log(JSON.stringify({ ...stats(), event: 'bye' }));
        process.exit(0);
      });
  }
});
