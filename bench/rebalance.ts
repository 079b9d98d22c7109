// Rebalance after a restart: 3 members, N clients (default 300) in a child process sending a
// request every 300 ms; SIGKILL one member, let its clients reconnect, restart it, and time until
// every member is within ±10 % of even. Balancing on (median of R runs) against the baseline in
// the same run: balancing off with an operator calling smartReloadCluster every second.
// Usage: node --import tsx bench/rebalance.ts [clients=300] [runs=5]
import { ClusterScenario, Fleet, isEven } from '../test/support/cluster-scenario.js';

const clients = Number(process.argv[2] ?? 300);
const runs = Number(process.argv[3] ?? 5);
const LIMIT_MS = 90_000;

interface Outcome {
  seconds: number | undefined;
  moves: number;
  failed: number;
}

async function until(check: () => Promise<boolean>, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function runOnce(balancing: boolean): Promise<Outcome> {
  const scenario = new ClusterScenario();
  const fleet = { current: undefined as Fleet | undefined };
  try {
    await scenario.start(balancing ? {} : { balancer: { enabled: false } });
    const f = new Fleet(clients, scenario.addresses);
    fleet.current = f;
    await f.ready(120_000);
    const fleetUp = Date.now();
    await until(async () => isEven((await f.stats()).perServer, scenario.addresses), 60_000);
    // Steady state before the failure: clients connected for longer than the balancer's cool-down,
    // as in production, where a restart finds long-lived connections.
    await new Promise((r) => setTimeout(r, Math.max(0, fleetUp + 11_000 - Date.now())));
    const victim = scenario.nodes[0]!;
    await victim.stop('SIGKILL');
    await until(async () => {
      const s = await f.stats();
      return !s.perServer[victim.address] && !s.perServer['unconnected'];
    }, 60_000);
    const before = await scenario.resetsSent();
    const failedBefore = (await f.stats()).failed;
    await victim.start();
    const restartedAt = Date.now();
    let operator: NodeJS.Timeout | undefined;
    if (!balancing) {
      // The baseline: Nacos's manual tool, called once a second by a diligent operator.
      operator = setInterval(() => void fetch(`http://${scenario.nodes[1]!.address}/nacos/v2/core/loader/smartReloadCluster`).catch(() => undefined), 1000);
    }
    const even = await until(async () => isEven((await f.stats()).perServer, scenario.addresses), LIMIT_MS);
    const seconds = even ? (Date.now() - restartedAt) / 1000 : undefined;
    clearInterval(operator);
    await new Promise((r) => setTimeout(r, 2000));
    const moves = (await scenario.resetsSent()) - before;
    const failed = (await f.stats()).failed - failedBefore;
    return { seconds, moves, failed };
  } finally {
    await fleet.current?.stop();
    await scenario.dispose();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const minimum = Math.floor(clients / 3);
const on: Outcome[] = [];
for (let i = 0; i < runs; i++) {
  on.push(await runOnce(true));
  console.log(`balancing on, run ${i + 1}: ${JSON.stringify(on.at(-1))}`);
}
const off = await runOnce(false);
console.log(`balancing off + smartReloadCluster every 1 s: ${JSON.stringify(off)}`);

const onSeconds = on.map((o) => o.seconds ?? Infinity);
console.log(`\nrebalance, ${clients} clients, 3 members, restart of one (minimum moves = floor(total/3) = ${minimum})`);
console.log(`  balancing on  (median of ${runs}): ${median(onSeconds).toFixed(1)} s to ±10 %, moves ${median(on.map((o) => o.moves))} (${(median(on.map((o) => o.moves)) / minimum).toFixed(2)} × minimum), failed requests ${on.reduce((s, o) => s + o.failed, 0)} in all runs`);
console.log(`  baseline, off + smartReloadCluster each second: ${off.seconds === undefined ? `not even within ${LIMIT_MS / 1000} s` : `${off.seconds.toFixed(1)} s`}, moves ${off.moves} (${(off.moves / minimum).toFixed(2)} × minimum), failed ${off.failed}`);
if (off.seconds !== undefined) console.log(`  ratio baseline / balancing on: ${(off.seconds / median(onSeconds)).toFixed(1)} × faster`);
process.exit(0);
