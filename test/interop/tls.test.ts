/**
 * The real Java 2.2.4 and Go clients over TLS, configured as applications configure them
 * (Java: `nacos.remote.client.rpc.tls.*` Properties with `file:` paths; Go: ClientConfig.TLSCfg):
 * on a 2-member cluster that speaks TLS only (members too), naming works and follows a redirect
 * between members; on a node that requires client certificates, config and naming work with one
 * from the trusted CA, one from another CA is refused, and the node keeps serving the others.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { HarnessProcess, type HarnessEvent } from '../support/harness-process.js';
import { runNamingCommand } from '../support/naming-interop-suite.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { createTestPki, type CertificateFiles, type TestPki } from '../support/tls-certificates.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));
const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

type Real = 'java' | 'go';
type Mode = 'naming' | 'config';

/** A harness command line with TLS flags: the CA to trust, and a client certificate if given. */
function harnessCommand(real: Real, mode: Mode, server: string, cacheDir: string, ca: string, client?: CertificateFiles): [string, string[]] {
  if (real === 'java') {
    const main = mode === 'naming' ? 'nacosremote.interop.NamingHarness' : 'nacosremote.interop.ConfigHarness';
    const certificate = client === undefined ? [] : ['--tls-cert', client.certFile, '--tls-key', client.keyFile];
    return [
      'java',
      ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', `${javaDir}target/nacos-interop-java.jar`, main, '--servers', server, '--cache-dir', cacheDir, '--tls-trust', ca, ...certificate],
    ];
  }
  const certificate = client === undefined ? [] : ['--tls-cert', client.certFile, '--tls-key', client.keyFile];
  return [`${goDir}bin/nacos-interop-go`, [mode, '--servers', server, '--cache-dir', cacheDir, '--log-level', 'warn', '--tls-ca', ca, ...certificate]];
}

type Node = Awaited<ReturnType<typeof startTestNode>>;

const configAnswer = (e: HarnessEvent) => e.event === 'ok' || e.event === 'config' || e.event === 'error';

let pki: TestPki;
let cacheRoot = '';
const harnesses: HarnessProcess[] = [];

before(() => {
  for (const build of [`${javaDir}build.sh`, `${goDir}build.sh`]) execFileSync(build, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  cacheRoot = mkdtempSync(join(tmpdir(), 'nacos-remote-tls-cache-'));
});
before(async () => {
  pki = await createTestPki();
});
after(async () => {
  await Promise.all(harnesses.map((h) => h.stop()));
  if (cacheRoot) rmSync(cacheRoot, { recursive: true, force: true });
  await pki?.cleanup();
});

async function startHarness(real: Real, mode: Mode, server: string, client?: CertificateFiles): Promise<HarnessProcess> {
  const harness = new HarnessProcess(...harnessCommand(real, mode, server, mkdtempSync(join(cacheRoot, `${real}-${mode}-`)), pki.ca.certFile, client));
  harnesses.push(harness);
  await harness.waitForEvent((e) => e.event === 'started', 60_000, `${real} ${mode} client started`);
  return harness;
}

describe('interop over TLS: Java 2.2.4 and Go naming on a 2-member cluster speaking TLS only', { timeout: 300_000 }, () => {
  let nodes: Node[] = [];

  before(async () => {
    // Two IPs, one port, as real clusters: Java keeps a redirect only to an IP in its server list,
    // and takes that entry's port.
    const hosts = ['127.0.0.1', '127.0.0.2'];
    const port = await findMainPort(hosts);
    const members = hosts.map((h) => `${h}:${port}`).join(',');
    nodes = await Promise.all(
      hosts.map((host) =>
        startTestNode({
          host,
          port,
          members,
          tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, compatibility: false },
          cluster: { tls: { enabled: true, caFile: pki.ca.certFile } },
          naming: { sync: { debounceMs: 20, verifyIntervalMs: 1000 } },
        }),
      ),
    );
    // Members reach each other over TLS: each holds the other's cluster client.
    await eventually(() => nodes.every((n) => n.members.upOthers().length === 1), 30_000, 'members up over TLS');
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  for (const real of ['java', 'go'] as const) {
    it(`${real}: registers, is seen on the other member (naming sync over TLS), follows a redirect there and keeps its instance`, async () => {
      const address = (n: Node) => `${n.config.host}:${n.config.port}`;
      const version = real === 'java' ? 'Nacos-Java-Client' : 'Nacos-Go-Client';
      const harness = await startHarness(real, 'naming', nodes.map(address).join(','));
      const service = `tls-${real}`;
      const instance = real === 'java' ? '10.9.0.1:8080' : '10.9.0.2:8080';
      await runNamingCommand(harness, `register ${service} ${instance.replace(':', ' ')}`);
      const listed = async () => JSON.stringify((await runNamingCommand(harness, `list ${service}`))['hosts']) === JSON.stringify([instance]);
      await eventually(listed, 20_000, 'the instance listed');
      for (const node of nodes) {
        await eventually(
          () => node.naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: service }, { healthyOnly: false }).hosts.length === 1,
          20_000,
          `the instance on ${address(node)}`,
        );
      }

      // Its one connection (the Go client replaces its first one just after starting), and where it is.
      const held = () => nodes.flatMap((node) => node.server.connections().filter((c) => c.version.startsWith(version)).map((c) => ({ node, c })));
      const [current] = await eventually(() => held().length === 1 && held(), 10_000, 'one connection of the client');
      assert.ok(current);
      if (real === 'java') assert.equal(current.c.labels['tls.enable'], 'true');
      const target = nodes.find((n) => n !== current.node)!;
      const res = await fetch(`http://${address(current.node)}/nacos/v2/core/loader/reloadClient?connectionId=${current.c.connectionId}&redirectAddress=${address(target)}`);
      assert.equal(res.status, 200, await res.text());
      const where = () => JSON.stringify(held().map(({ node, c }) => [address(node), c.connectionId]));
      await eventually(() => held().length === 1 && held()[0]!.node === target, 30_000, () => `the client on ${address(target)}: ${where()}`);
      await eventually(listed, 20_000, 'the instance still listed after the move');
      await harness.stop();
    });
  }
});

describe('interop over TLS: Java 2.2.4 and Go with client certificates on a node that requires them', { timeout: 300_000 }, () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  before(async () => {
    node = await startTestNode({
      tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile, mutual: true, compatibility: false },
    });
  });
  after(() => node.dispose());

  it('config and naming work with a trusted client certificate; one from another CA is refused and the others keep working', async () => {
    const server = `127.0.0.1:${node.config.port}`;
    const javaConfig = await startHarness('java', 'config', server, pki.client);
    const goConfig = await startHarness('go', 'config', server, pki.client);
    const goNaming = await startHarness('go', 'naming', server, pki.client);
    const run = async (harness: HarnessProcess, line: string) => {
      const answer = await harness.command(line, configAnswer, 30_000);
      assert.notEqual(answer.event, 'error', `${line}: ${JSON.stringify(answer)}`);
      return answer;
    };
    await run(javaConfig, 'publish tls.properties DEFAULT_GROUP from=java');
    assert.equal((await run(goConfig, 'get tls.properties DEFAULT_GROUP'))['content'], 'from=java');
    await runNamingCommand(goNaming, 'register mtls 10.9.1.1 8080');

    const refused = await startHarness('java', 'naming', server, pki.otherClient);
    const answer = await refused.command('register mtls 10.9.1.2 8080', (e) => e.event === 'ok' || e.event === 'error', 60_000);
    assert.equal(answer.event, 'error', JSON.stringify(answer));
    await refused.stop();

    await run(goConfig, 'publish tls.properties DEFAULT_GROUP from=go');
    assert.equal((await run(javaConfig, 'get tls.properties DEFAULT_GROUP'))['content'], 'from=go');
    assert.deepEqual((await runNamingCommand(goNaming, 'list mtls'))['hosts'], ['10.9.1.1:8080']);
    assert.equal(node.server.connections().length, 3);
  });
});
