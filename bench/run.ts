// `npm run bench`: the whole benchmark suite, one benchmark process after another (so none shares
// the machine with another), then bench/results/latest.json, latest.md and the README's
// performance section from their results (bench/report.ts).
// Usage: node --import tsx bench/run.ts [--quick] [--only unary,connections,naming,...] [--no-readme]
//   --quick: every benchmark at a small scale, for a smoke run (naming, config and rebalance take
//   about 5 minutes of it: they start r-nacos when installed, and up to 1,000 subscribers);
//   full: about an hour on 2 cores (estimated from its parts: naming and config each start ours,
//   r-nacos and Nacos 2.2.4 and push to 10,000 connections, about 10 minutes each; the rebalance
//   runs 3,000 naming clients 4 times, about 25).
// Benchmarks print figures; none passes or fails on speed. A benchmark that crashes is reported
// and the suite goes on; the exit code is then 1.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from './report.js';
import { RESULTS_DIR } from './support/results.js';
import { REPO_ROOT } from './support/server-process.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const quick = args.quick;
// A quick run's figures are a smoke check: kept apart from the committed full results.
const resultsDir = quick ? join(REPO_ROOT, 'bench', 'results', 'quick') : RESULTS_DIR;

interface Step {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly nodeArgs?: readonly string[];
}

const STEPS: readonly Step[] = [
  { name: 'unary', script: 'bench/unary.ts', args: quick ? ['--quick'] : [] },
  { name: 'connections', script: 'bench/connections.ts', args: quick ? ['--quick'] : [] },
  { name: 'registration', script: 'bench/registration-latency.ts', args: quick ? ['200', '1'] : ['1000', '1'] },
  { name: 'registration', script: 'bench/registration-latency.ts', args: quick ? ['200', '16'] : ['1000', '16'] },
  { name: 'client', script: 'bench/client.ts', args: quick ? ['100'] : ['300'], nodeArgs: ['--expose-gc'] },
  { name: 'config', script: 'bench/config.ts', args: quick ? ['--quick'] : [] },
  { name: 'config-mysql', script: 'bench/config-mysql.ts', args: quick ? ['--quick'] : [] },
  { name: 'rebalance', script: 'bench/rebalance.ts', args: quick ? ['--quick'] : [] },
  { name: 'naming', script: 'bench/naming.ts', args: quick ? ['--quick'] : [] },
  { name: 'tls', script: 'bench/tls.ts', args: quick ? ['--quick'] : [] },
];

function run(step: Step): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(step.nodeArgs ?? []), '--import', 'tsx', step.script, ...step.args], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, BENCH_RESULTS_DIR: resultsDir },
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

const only = args.only?.split(',');
const steps = STEPS.filter((s) => only === undefined || only.includes(s.name));
const started = Date.now();
const failed: string[] = [];
for (const step of steps) {
  const stepStarted = Date.now();
  console.log(`\n=== ${step.name}: ${step.script} ${step.args.join(' ')}`);
  const code = await run(step);
  console.log(`=== ${step.name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${((Date.now() - stepStarted) / 1000).toFixed(0)} s`);
  if (code !== 0) failed.push(step.name);
}
const report = writeReport({ mode: quick ? 'quick' : 'full', updateReadme: !args['no-readme'] && !quick, dir: resultsDir });
console.log(`\n${report.markdown}`);
console.log(`wrote ${report.paths.join(', ')}`);
console.log(`suite took ${((Date.now() - started) / 1000).toFixed(0)} s${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`);
process.exit(failed.length > 0 ? 1 : 0);
