// Config publish throughput on one MariaDB (issue 14): our node with its `db` on database A against
// a real Nacos 2.2.4 on database B of the same server, and our node on its embedded SQLite store
// beside them. ConfigPublishRequest over 16 keys per connection, each publish a new content
// (bench/support/unary-calls.ts), requests per second and per server CPU-second (Nacos: the JVM's).
// The servers stay up for the whole run; each gets one uncounted load first (JIT, pools), then the
// rounds alternate which of ours and Nacos goes first. The goal: ours / Nacos ≥ 1 on MariaDB.
// MariaDB's own CPU is not charged to either server: both pay it, and it is the database's.
// Then issue 14's read goal on each of our nodes (bench/support/query-rounds.ts): ConfigQuery /
// HealthCheck on the same server, per second and per server CPU-second, goal ≥ 0.8 on both stores.
// Usage: node --import tsx bench/config-mysql.ts [--quick] [--duration 5] [--rounds 3] [--skip-nacos]
import os from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MYSQL_SCHEMA } from '../src/config/store/mysql-schema.js';
import { MariaDb } from '../test/support/mariadb.js';
import { NACOS_224, PeerServer } from '../test/support/peer-server.js';
import { formatNumber, textTable } from './support/format.js';
import { queryRounds } from './support/query-rounds.js';
import type { ConfigMysqlLane as Lane, LoadFigures, QueryFigures } from './support/result-types.js';
import { writeResult } from './support/results.js';
import { describeLoad, loadSettings, measureLoad } from './support/server-figures.js';
import { startPeer, startStandaloneServer, type ServerProcess } from './support/server-process.js';
import { median } from './support/stats.js';
import { TARGET_LABEL, type BenchTarget } from './support/targets.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'skip-nacos': { type: 'boolean', default: false },
  },
});
const config = {
  rounds: args.quick ? 1 : Number(args.rounds),
  load: loadSettings(args.quick, Number(args.duration), 64),
};
const HOST = '127.0.0.1';
// Nacos's data source wants a user with a password; ours uses the same one.
const DB_USER = 'nacos';
const DB_PASSWORD = 'nacos-pass';
const OURS_DATABASE = 'ours_a';
const NACOS_DATABASE = 'nacos_b';

const LANE_LABEL: Record<Lane, string> = {
  'ours-mariadb': `${TARGET_LABEL.ours}, MariaDB`,
  'nacos-mariadb': `${TARGET_LABEL.nacos}, MariaDB`,
  'ours-sqlite': `${TARGET_LABEL.ours}, SQLite`,
};

interface Running {
  readonly lane: Lane;
  readonly target: BenchTarget;
  readonly server: ServerProcess;
}

const ourModule = new URL('./support/our-node.ts', import.meta.url);

/** Our node as a module, with a node config file in `dir` when `nodeConfig` is given. */
function ourTarget(dir: string, name: string, nodeConfig?: object): BenchTarget {
  const args: string[] = [];
  if (nodeConfig !== undefined) {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(nodeConfig));
    args.push('--config', file);
  }
  return { key: 'ours', label: TARGET_LABEL.ours, start: () => startStandaloneServer(name, ourModule, HOST, { args }), commands: true, realConnectionIds: true };
}

const dbSection = (db: MariaDb, database: string) => ({ host: db.host, port: db.port, user: DB_USER, password: DB_PASSWORD, database, init: true });

/** Nacos on database B; timeouts longer than the peer test's (which times outages): a loaded machine must not fail its start. */
function nacosTarget(db: MariaDb): BenchTarget {
  const jdbc = `jdbc:mysql://${db.host}:${db.port}/${NACOS_DATABASE}?characterEncoding=utf8&connectTimeout=5000&socketTimeout=30000&autoReconnect=true&useUnicode=true&useSSL=false&serverTimezone=UTC`;
  const nacosArgs = ['--spring.sql.init.platform=mysql', '--spring.datasource.platform=mysql', '--db.num=1', `--db.url.0=${jdbc}`, `--db.user.0=${DB_USER}`, `--db.password.0=${DB_PASSWORD}`];
  return { key: 'nacos', label: TARGET_LABEL.nacos, start: () => startPeer(NACOS_224, HOST, nacosArgs), commands: false, realConnectionIds: false };
}

/**
 * Nacos's schema in its database: the statements our --db-init runs (Nacos 2.2.4's schema), run
 * here, since our node creates its tables at its first store access, not at its start.
 */
async function createNacosSchema(db: MariaDb): Promise<void> {
  for (const statement of MYSQL_SCHEMA) await db.query(statement, NACOS_DATABASE);
}

const load = (running: Running): Promise<LoadFigures> => measureLoad(running.target, running.server, 'ConfigPublish', config.load);

const ratio = (ours: number, theirs: number): number => Math.round((ours / theirs) * 100) / 100;

// --- run ---------------------------------------------------------------------------------------

const withNacos = !args['skip-nacos'] && PeerServer.installed(NACOS_224);
console.log(
  `config publish on MariaDB, ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
    `${config.rounds} rounds of ${config.load.durationMs / 1000} s${withNacos ? '' : '; Nacos 2.2.4 left out (--skip-nacos, or not built: interop/peers/nacos-server.sh build)'}`,
);
const db = new MariaDb();
const configDir = mkdtempSync(join(os.tmpdir(), 'nacos-remote-bench-config-mysql-'));
const running: Running[] = [];
const rounds: Record<Lane, LoadFigures>[] = [];
const query: Partial<Record<Lane, QueryFigures>> = {};
let nacosError: string | undefined;
try {
  await db.start();
  for (const database of [OURS_DATABASE, NACOS_DATABASE]) await db.createDatabase(database);
  await db.query(`CREATE USER '${DB_USER}'@'%' IDENTIFIED BY '${DB_PASSWORD}'`);
  for (const database of [OURS_DATABASE, NACOS_DATABASE]) await db.query(`GRANT ALL ON ${database}.* TO '${DB_USER}'@'%'`);

  const lanes: [Lane, BenchTarget][] = [
    ['ours-mariadb', ourTarget(configDir, 'ours-mariadb', { db: dbSection(db, OURS_DATABASE) })],
    ['ours-sqlite', ourTarget(configDir, 'ours-sqlite')],
  ];
  if (withNacos) {
    await createNacosSchema(db);
    lanes.push(['nacos-mariadb', nacosTarget(db)]);
  }
  for (const [lane, target] of lanes) {
    try {
      running.push({ lane, target, server: await target.start() });
      console.log(`  started ${LANE_LABEL[lane]}`);
    } catch (error) {
      // Without Nacos the run still gives ours on MariaDB against ours on SQLite.
      if (lane !== 'nacos-mariadb') throw error;
      nacosError = error instanceof Error ? error.message.slice(0, 2000) : String(error);
      console.log(`  ${LANE_LABEL[lane]} did not start; going on without it:\n${nacosError}`);
    }
  }
  // Not counted: each server's first load runs before its JIT (and Nacos's pools) have warmed up.
  for (const r of running) await load(r);

  for (let round = 0; round < config.rounds; round++) {
    // Ours and Nacos on MariaDB swap places each round; SQLite, which no ratio to Nacos uses, goes last.
    const order = [...running].sort((a, b) => orderIn(round, a.lane) - orderIn(round, b.lane));
    const figures: Partial<Record<Lane, LoadFigures>> = {};
    console.log(`  round ${round + 1}:`);
    for (const r of order) {
      figures[r.lane] = await load(r);
      console.log(describeLoad(LANE_LABEL[r.lane], figures[r.lane]!));
    }
    rounds.push(figures as Record<Lane, LoadFigures>);
  }
  // Each of our nodes alone, the others idle: its query against its own HealthCheck.
  for (const r of running.filter((r) => r.lane !== 'nacos-mariadb')) {
    console.log(`  query, ${LANE_LABEL[r.lane]}:`);
    query[r.lane] = await queryRounds(r.target, r.server, config.rounds, config.load);
  }
} finally {
  for (const r of running) await r.server.stop();
  await db.stop();
  rmSync(configDir, { recursive: true, force: true });
}

function orderIn(round: number, lane: Lane): number {
  if (lane === 'ours-sqlite') return 2;
  return (lane === 'ours-mariadb') === (round % 2 === 0) ? 0 : 1;
}

const lanesRun = running.map((r) => r.lane);
const medianOf = (lane: Lane, figure: 'requestsPerSecond' | 'perServerCpuSecond'): number => median(rounds.map((r) => r[lane][figure]));
const summary = Object.fromEntries(
  lanesRun.map((lane) => [lane, { requestsPerSecond: medianOf(lane, 'requestsPerSecond'), perServerCpuSecond: medianOf(lane, 'perServerCpuSecond') }]),
) as Partial<Record<Lane, { requestsPerSecond: number; perServerCpuSecond: number }>>;
const versusNacos =
  summary['nacos-mariadb'] === undefined
    ? undefined
    : {
        perSecond: ratio(summary['ours-mariadb']!.requestsPerSecond, summary['nacos-mariadb'].requestsPerSecond),
        perServerCpuSecond: ratio(summary['ours-mariadb']!.perServerCpuSecond, summary['nacos-mariadb'].perServerCpuSecond),
      };
const mariadbVersusSqlite = {
  perSecond: ratio(summary['ours-mariadb']!.requestsPerSecond, summary['ours-sqlite']!.requestsPerSecond),
  perServerCpuSecond: ratio(summary['ours-mariadb']!.perServerCpuSecond, summary['ours-sqlite']!.perServerCpuSecond),
};

console.log(`\nConfigPublish, median of ${config.rounds} rounds`);
console.log(
  textTable(
    ['server, store', 'publish/s', 'publish per server CPU-s', 'p99 ms (last round)'],
    lanesRun.map((lane) => [LANE_LABEL[lane], formatNumber(summary[lane]!.requestsPerSecond), formatNumber(summary[lane]!.perServerCpuSecond), formatNumber(rounds.at(-1)![lane].p99Ms, 1)]),
  ),
);
if (versusNacos !== undefined) console.log(`ours / Nacos 2.2.4 on MariaDB: ${versusNacos.perSecond} per second, ${versusNacos.perServerCpuSecond} per server CPU-second (goal ≥ 1)`);
console.log(`ours on MariaDB / ours on SQLite: ${mariadbVersusSqlite.perSecond} per second, ${mariadbVersusSqlite.perServerCpuSecond} per server CPU-second`);
console.log(`\nConfigQuery / HealthCheck on the same server, median of ${config.rounds} rounds (goal ≥ 0.8)`);
console.log(
  textTable(
    ['server, store', 'per second', 'per server CPU-s', 'ConfigQuery per server CPU-s (last round)'],
    (Object.entries(query) as [Lane, QueryFigures][]).map(([lane, q]) => [LANE_LABEL[lane], formatNumber(q.medianRatio, 2), formatNumber(q.medianCpuRatio, 2), formatNumber(q.rounds.at(-1)?.query.perServerCpuSecond)]),
  ),
);
console.log(`\nwrote ${writeResult('config-mysql', { config, rounds, summary, versusNacos, mariadbVersusSqlite, query, ...(nacosError === undefined ? {} : { nacosError }) })}`);
process.exit(0);
