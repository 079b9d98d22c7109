/**
 * First contact as a new user has it: the package installed from a tarball (`npm pack`) and from
 * git (`npm install git+file://...`), each from a fresh clone of HEAD (commit before running: work
 * not committed is not in the clone), then a small TypeScript service type-checked against it
 * (ESM, nodenext, strict) and run. Slow (npm installs and builds): part of `npm test`, not of
 * `npm run test:unit`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findMainPort } from '../support/ports.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const consumerFixture = fileURLToPath(new URL('./consumer', import.meta.url));
const execFileAsync = promisify(execFile);
// Hang guard for one command (an npm install that builds on 2 busy cores), not a pace.
const STEP_TIMEOUT_MS = 5 * 60_000;

/** npm settings of the machine that the scratch projects' npm keeps: its cache, registry and CAs. */
const KEPT_NPM_SETTINGS = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_cafile']);
/**
 * The environment without the variables `npm test` sets for its script: npm_config_local_prefix or
 * npm_package_* inherited from the repo would make the scratch project's npm act on the repo.
 */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_') || KEPT_NPM_SETTINGS.has(name.toLowerCase())),
);

/** Runs a command to its end; its stdout. `log` is told how long it took. */
async function run(cwd: string, command: string, args: readonly string[], log?: (message: string) => void): Promise<string> {
  const started = Date.now();
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, env: cleanEnv, timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error });
  } finally {
    log?.(`${((Date.now() - started) / 1000).toFixed(1)} s: ${command} ${args.join(' ')}`);
  }
}

// The consumer fixture denies better-sqlite3's install script (its allowScripts): compiling the
// native module takes minutes on 2 cores and proves nothing of our packaging (the repo's own
// `npm ci` builds it). The consumer makes no config request, and a node without the module starts.
const npmInstall = ['install', '--no-audit', '--no-fund', '--prefer-offline'];

/**
 * Copies the consumer fixture, installs `spec` into it, type-checks and builds it, runs it.
 * `tscFlags` go to the consumer's tsc.
 */
async function installAndRunConsumer(t: TestContext, workDir: string, name: string, spec: string, tscFlags: readonly string[] = []): Promise<void> {
  const project = join(workDir, name);
  const log = (message: string) => t.diagnostic(message);
  cpSync(consumerFixture, project, { recursive: true });
  await run(project, 'npm', [...npmInstall, spec], log);
  await run(project, process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', ...tscFlags], log);
  const port = await findMainPort(['127.0.0.1']);
  const home = join(workDir, `${name}-home`);
  mkdirSync(home);
  const output = await run(project, process.execPath, ['out/main.js', String(port), home], log);
  assert.match(output, /^consumer: HealthCheckResponse from 127\.0\.0\.1:\d+$/m);
}

describe('nacos-remote installed as a package', { timeout: 20 * 60_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'nacos-remote-install-'));
  const clone = join(workDir, 'clone');
  let head = '';
  let uncommitted = '';
  after(() => rmSync(workDir, { recursive: true, force: true }));

  before(async () => {
    head = (await run(repoRoot, 'git', ['rev-parse', 'HEAD'])).trim();
    uncommitted = (await run(repoRoot, 'git', ['status', '--porcelain', '--untracked-files=no'])).trim();
    await run(workDir, 'git', ['clone', '--quiet', '--no-checkout', repoRoot, clone]);
    await run(clone, 'git', ['checkout', '--quiet', head]);
  });

  it('installs from `npm pack` of a fresh clone: dist built, no tests or bench, and a consumer type-checks and runs', async (t) => {
    if (uncommitted !== '') t.diagnostic(`not in the clone of ${head} (uncommitted): ${uncommitted.split('\n').join(', ')}`);
    const log = (message: string) => t.diagnostic(message);
    // The repo's own dependencies, as `npm ci` in the clone would lay them, without a second install.
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const packed = join(workDir, 'packed');
    mkdirSync(packed);
    await run(clone, 'npm', ['pack', '--pack-destination', packed], log);
    const [tarball, ...more] = readdirSync(packed);
    assert.ok(tarball !== undefined && more.length === 0, `one tarball, got ${readdirSync(packed).join(', ')}`);
    const entries = (await run(packed, 'tar', ['-tzf', tarball])).trim().split('\n');
    for (const wanted of ['package/dist/client/index.js', 'package/dist/client/index.d.ts', 'package/dist/node/index.js', 'package/dist/cli/main.js']) {
      assert.ok(entries.includes(wanted), `${wanted} in the tarball`);
    }
    const unexpected = entries.filter((entry) => !/^package\/(dist\/.+|package\.json|README\.md|LICENSE)$/.test(entry));
    assert.deepEqual(unexpected, [], 'only dist/, package.json, README.md and LICENSE are published');
    assert.deepEqual(entries.filter((entry) => /\/(test|bench)\//.test(entry)), [], 'no test or bench output in dist/');
    await installAndRunConsumer(t, workDir, 'tarball-consumer', join(packed, tarball));
  });

  it('installs from git (npm builds it on prepare) and a consumer type-checks and runs', async (t) => {
    // Our declarations and their dependencies' were checked whole against the tarball (the same
    // build); here the consumer's own code is enough, and the check is four times quicker.
    await installAndRunConsumer(t, workDir, 'git-consumer', `git+file://${clone}#${head}`, ['--skipLibCheck']);
  });
});
