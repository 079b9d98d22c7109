// `npm run demo [-- --balancing=off] [--clients N]`: three members on 127.0.0.1-3 and a fleet of
// clients in a separate process; member 1 is SIGKILLed and restarted, and a live view shows the
// clients coming back to it (balancing on) or not (off). Reuses the integration-test helpers so
// the demo runs exactly what test/cluster/balancing.scenario.test.ts asserts.
import { parseArgs } from 'node:util';
import { ClusterScenario, Fleet, isEven, type FleetStats } from '../test/support/cluster-scenario.js';

const { values } = parseArgs({ options: { balancing: { type: 'string', default: 'on' }, clients: { type: 'string', default: '300' } } });
const balancing = values.balancing !== 'off';
const clients = Number(values.clients);
if (!Number.isInteger(clients) || clients <= 0) throw new Error(`--clients must be a positive integer, got ${values.clients}`);
// Short balancer intervals so the whole story fits in about a minute; the logic is the production one.
const config = balancing ? { balancer: { intervalMs: 500, warmupMs: 1000, settleMs: 1000, cooldownMs: 10_000 } } : { balancer: { enabled: false } };

const tty = process.stdout.isTTY === true;
const started = Date.now();
const scenario = new ClusterScenario();
let fleet: Fleet | undefined;
let phase = 'starting members';
let latest: FleetStats | undefined;
let moves = 0;
let polling = true;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
const count = (a: string) => latest?.perServer[a] ?? 0;
const allConnected = () => latest !== undefined && !latest.perServer['unconnected'] && !latest.perServer['none'];
const even = () => latest !== undefined && allConnected() && isEven(latest.perServer, scenario.addresses);

function bar(n: number, width = 40): string {
  // Scaled to the whole fleet, so an even share fills a third and a survivor of the kill half.
  const full = Math.round((Math.min(n, clients) / clients) * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

function render(): void {
  const s = latest;
  const unconnected = (s?.perServer['unconnected'] ?? 0) + (s?.perServer['none'] ?? 0);
  if (tty) {
    const lines = [
      `nacos-remote balancing demo — ${clients} clients, balancing ${balancing ? 'on' : 'off'}    ${elapsed()} s`,
      '',
      ...scenario.addresses.map((a) => `  ${a.padEnd(16)} ${bar(count(a))} ${String(count(a)).padStart(4)}`),
      '',
      `  unconnected ${unconnected}   failed requests ${s?.failed ?? 0} (+${s?.failedWhileOrphaned ?? 0} while orphaned)   moves ${moves}   requests ${s?.requests ?? 0}`,
      '',
      `  phase: ${phase}`,
    ];
    // Cursor home + clear to end of screen redraws in place without the flicker of a full clear.
    process.stdout.write(`\x1b[H\x1b[J${lines.join('\n')}\n`);
  } else {
    const members = scenario.addresses.map((a) => `${a}=${count(a)}`).join(' ');
    console.log(`t=${elapsed()}s ${members} unconnected=${unconnected} failed=${s?.failed ?? 0} moves=${moves} | ${phase}`);
  }
}

// One poller owns the fleet's stdin/stdout protocol, so the phases below only read `latest`.
async function poll(): Promise<void> {
  for (let tick = 0; polling; tick++) {
    try {
      if (fleet) latest = await fleet.stats();
      if (scenario.nodes.length) moves = await scenario.resetsSent();
    } catch {
      // the fleet is starting or stopping; keep the last sample
    }
    if (tty || tick % 2 === 0) render(); // ~2×/s on a terminal, once a second into a pipe or file
    await sleep(started + (tick + 1) * 500 - Date.now()); // fixed rate, however long sampling took
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
  return true;
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    polling = false;
    await fleet?.stop().catch(() => undefined);
    await scenario.dispose().catch(() => undefined);
    if (tty) process.stdout.write('\x1b[?25h'); // show the cursor again
  })();
  return cleaning;
}
// Ctrl-C must not leave member or fleet processes behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    phase = 'interrupted, cleaning up';
    void cleanup().then(() => process.exit(130));
  });
}

async function main(): Promise<string> {
  if (tty) process.stdout.write('\x1b[2J\x1b[?25l'); // clear once, hide the cursor while drawing
  const poller = poll();
  await scenario.start(config);
  phase = `starting ${clients} clients`;
  fleet = new Fleet(clients, scenario.addresses);
  await fleet.ready();

  phase = 'waiting for a balanced start';
  // Without balancing, the initial random spread may never be within ±10 %; go on once connected.
  if (!(await waitUntil(even, balancing ? 60_000 : 10_000))) await waitUntil(allConnected, 30_000);

  const victim = scenario.nodes[0]!;
  phase = `killed ${victim.address} (SIGKILL); its clients move to the other two`;
  await victim.stop('SIGKILL');
  const killedAt = Date.now();
  await waitUntil(() => Date.now() - killedAt >= 5000 && count(victim.address) === 0 && allConnected(), 60_000);

  const resetsBefore = await scenario.resetsSent();
  phase = `restarting ${victim.address}`;
  await victim.start();
  const restartedAt = Date.now();

  // Watch for 20 s; "even" counts from the moment it became even and stayed so.
  let evenSince: number | undefined;
  while (Date.now() - restartedAt < 20_000) {
    phase = `${victim.address} restarted ${((Date.now() - restartedAt) / 1000).toFixed(0)} s ago; ${balancing ? 'balancing' : 'balancing off, no moves expected'}`;
    if (even()) evenSince ??= Date.now();
    else evenSince = undefined;
    await sleep(250);
  }

  const stats = latest!;
  const movesSinceRestart = (await scenario.resetsSent()) - resetsBefore;
  phase = 'done';
  polling = false;
  await poller;
  render();
  const outcome = evenSince !== undefined ? `even ${((evenSince - restartedAt) / 1000).toFixed(1)} s after the restart` : 'still skewed';
  const spread = scenario.addresses.map((a) => `${a}=${count(a)}`).join(' ');
  return `balancing ${balancing ? 'on' : 'off'}: ${outcome}; moves ${movesSinceRestart} (minimum ${Math.floor(clients / 3)}); failed requests ${stats.failed} (+${stats.failedWhileOrphaned} while orphaned, of ${stats.requests}); ${spread}`;
}

try {
  const summary = await main();
  await cleanup();
  console.log(`\n${summary}`);
  process.exit(0);
} catch (err) {
  await cleanup();
  console.error(err);
  process.exit(1);
}
