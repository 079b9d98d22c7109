#!/usr/bin/env node
// Lists test files for node:test: on Node 20 `node --test` neither expands globs nor finds .ts files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Multi-process scenarios (several node processes, client fleets in their own process) are
// named `*.scenario.test.ts`, beside the tests of what they exercise.
const isScenario = (file) => file.endsWith('.scenario.test.ts');
const isInterop = (file) => file.includes('/interop/');

// CI's second transport lane (issue 16): the tests whose servers follow NACOS_TRANSPORT
// (test/support/server.ts) run again on the transport that is not the node's default. The
// conformance test loops over both transports itself, and the client's bad-input test runs a
// fake server of its own: in this lane they would only run again.
const TRANSPORT_LANE = ['test/server/bad-input.test.ts', 'test/interop/java-client.test.ts', 'test/interop/go-client.test.ts'];

const suites = {
  // The fast loop: pure logic and servers on loopback in this process, no JVM or Go harness, no npm install.
  unit: (file) => !isInterop(file) && !file.includes('/peers/') && !isScenario(file) && !file.includes('/package/'),
  // Clusters of node processes: kills, restarts, balancing, drains (minutes).
  scenarios: (file) => isScenario(file) && !isInterop(file) && !file.includes('/peers/'),
  // What `npm test` runs: everything but the real peer servers (slow first build).
  all: (file) => !file.includes('/peers/'),
  interop: isInterop,
  // Our client against real servers no one here wrote (r-nacos, Nacos 2.2.4).
  peers: (file) => file.includes('/peers/'),
  transport: (file) => TRANSPORT_LANE.includes(file),
};

function listTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

const suite = process.argv[2] ?? 'all';
const filter = suites[suite];
if (!filter) {
  console.error(`unknown suite '${suite}'; one of: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
const missingFromLane = suite === 'transport' ? TRANSPORT_LANE.filter((file) => !existsSync(file)) : [];
if (missingFromLane.length > 0) {
  console.error(`run-tests.mjs: the transport lane names files that do not exist: ${missingFromLane.join(', ')}`);
  process.exit(2);
}
const extra = process.argv.slice(3);
const files = extra.length > 0 ? extra : listTests('test').filter(filter);
// node --test with no file runs whatever it finds by its own rules: a suite that selects nothing is a mistake.
if (files.length === 0) {
  console.error(`run-tests.mjs: suite '${suite}' selects no test file`);
  process.exit(2);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: suite === 'transport' ? { ...process.env, NACOS_TRANSPORT: 'other' } : process.env },
);
process.exit(result.status ?? 1);
