import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findMainPort } from '../support/ports.js';
import { eventually, RawPeer } from '../support/raw-peer.js';
import { createTestPki } from '../support/tls-certificates.js';

const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function runCli(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

describe('nacos-remote server (CLI)', () => {
  const home = mkdtempSync(join(tmpdir(), 'nacos-remote-cli-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });

  it('starts from a config file, serves readiness, and on SIGTERM resets clients and exits 0', async () => {
    const port = await findMainPort(['127.0.0.1']);
    const config = join(home, 'node.json');
    writeFileSync(config, JSON.stringify({ port, logLevel: 'warn', ejector: { intervalMs: 1000 } }));
    const run = runCli(['server', '--config', config, '--host', '127.0.0.1', '--home', home]);
    children.push(run.child);
    await eventually(async () => (await httpStatus(`http://127.0.0.1:${port}/nacos/v1/console/health/readiness`)) === 200, 30_000, 'readiness');
    assert.equal(await httpStatus(`http://127.0.0.1:${port}/nacos/v1/console/health/liveness`), 200);
    const peer = new RawPeer('127.0.0.1', port + 1000);
    try {
      const id = await peer.serverCheck();
      assert.match(id, /_127\.0\.0\.1_/);
      peer.setup();
      // Registered once a health check stops answering 301.
      await eventually(async () => (await peer.unary({ kind: 'request', type: 'HealthCheckRequest', headers: {}, body: {} })).resultCode === 200, 5000, 'registered');
      run.child.kill('SIGTERM');
      assert.equal(await run.exit, 0, run.output());
      assert.equal(peer.pushesOf('ConnectResetRequest').length, 1, 'told to go elsewhere');
    } finally {
      peer.close();
    }
  });

  it('rejects a config file with a bad key, naming it', async () => {
    const config = join(home, 'bad.json');
    writeFileSync(config, JSON.stringify({ port: 8848, ejector: { intervalMs: 'soon' }, colour: 'blue' }));
    const run = runCli(['server', '--config', config, '--host', '127.0.0.1']);
    children.push(run.child);
    assert.equal(await run.exit, 1);
    assert.match(run.output(), /'ejector\.intervalMs'/);
    assert.match(run.output(), /'colour': unknown option/);
  });

  /** Starts a node with the given flags, waits for its 'node started' line, stops it with SIGTERM; its output. */
  async function logOfAStart(extraArgs: string[]): Promise<string> {
    const port = await findMainPort(['127.0.0.1']);
    const run = runCli(['server', '--host', '127.0.0.1', '--port', String(port), '--home', home, ...extraArgs]);
    children.push(run.child);
    await eventually(() => {
      if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode}: ${run.output()}`);
      return run.output().includes('node started');
    }, 30_000, () => `node started in: ${run.output()}`);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
    return run.output();
  }

  it('logs JSON lines when stdout is not a terminal', async () => {
    const lines = (await logOfAStart([])).trim().split('\n');
    const started = lines.map((line) => JSON.parse(line) as { msg: string; level: number; port?: number }).find((entry) => entry.msg === 'node started');
    assert.equal(started?.level, 30);
  });

  it('logs readable lines with --log-format pretty', async () => {
    const output = await logOfAStart(['--log-format', 'pretty']);
    assert.match(output, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: node started$/m);
    assert.match(output, /^ {4}host: "127\.0\.0\.1"$/m);
    assert.ok(!output.includes('"msg"'), output);
  });

  it('refuses an unknown --log-format, naming the allowed values', async () => {
    const run = runCli(['server', '--log-format', 'xml', '--host', '127.0.0.1']);
    children.push(run.child);
    assert.notEqual(await run.exit, 0);
    assert.match(run.output(), /'xml' is invalid\. Allowed choices are json, pretty/);
  });

  // script(1) gives the node a terminal for stdout, as `npm start` in a shell does.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it('logs readable lines when stdout is a terminal', { skip: hasScript ? false : 'no script(1) to give it a terminal' }, async () => {
    const port = await findMainPort(['127.0.0.1']);
    const command = [process.execPath, '--import', 'tsx', cli, 'server', '--host', '127.0.0.1', '--port', String(port), '--home', home]
      .map((word) => `'${word}'`)
      .join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Colours on a terminal: strip them to read the words.
    const plain = () => output.replace(/\x1b\[\d+m/g, '');
    await eventually(() => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
      return plain().includes('INFO: node started');
    }, 30_000, () => `node started in: ${output}`);
    assert.ok(!plain().includes('"msg"'), output);
    // Closing the terminal hangs up the node; its HTTP port closing is the end state.
    child.kill('SIGKILL');
    await exited;
    await eventually(async () => (await httpStatus(`http://127.0.0.1:${port}/nacos/v1/console/health/liveness`)) === 0, 10_000, 'node gone');
  });

  it('turns TLS on with --tls-cert and --tls-key; one without the other, or an unreadable file, stops the start naming it', async () => {
    const pki = await createTestPki();
    try {
      assert.match(await logOfAStart(['--tls-cert', pki.server.certFile, '--tls-key', pki.server.keyFile]), /node started/);
      for (const [flags, named] of [
        [['--tls-key', pki.server.keyFile], /'tls\.certFile': required when tls\.enabled is true/],
        [['--tls-cert', pki.server.certFile, '--tls-key', join(pki.dir, 'missing.key')], /missing\.key/],
      ] as const) {
        const run = runCli(['server', '--host', '127.0.0.1', '--home', home, ...flags]);
        children.push(run.child);
        assert.equal(await run.exit, 1, run.output());
        assert.match(run.output(), named);
      }
    } finally {
      await pki.cleanup();
    }
  });

  it('rejects a bad flag value', async () => {
    const run = runCli(['server', '--port', 'eighty', '--host', '127.0.0.1']);
    children.push(run.child);
    assert.notEqual(await run.exit, 0);
    assert.match(run.output(), /--port must be an integer/);
  });
});
