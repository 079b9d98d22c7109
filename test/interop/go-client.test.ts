import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { realClientSuite } from '../support/interop-suite.js';
import { eventually } from '../support/raw-peer.js';

const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

// The real github.com/nacos-group/nacos-sdk-go/v2 rpc client against our nodes.
realClientSuite({
  name: 'Go nacos-sdk-go/v2',
  build: `${goDir}build.sh`,
  command: (servers) => [`${goDir}bin/nacos-interop-go`, ['--servers', servers.join(','), '--labels', 'source=sdk,AppName=interop-go', '--log-level', 'warn']],
  checkRegistration(info) {
    assert.match(info.version, /^Nacos-Go-Client:v2\./);
    assert.equal(info.appName, 'interop-go');
  },
  more(context) {
    it('closing the node it is on does not disturb the process, and the client moves to the other', async () => {
      const { client, second, first, port } = context();
      const status = await client.command('status', (e) => e.event === 'status');
      assert.equal(status['server'], `127.0.0.2:${port}`);
      const from = client.events.length;
      // No redirect target: the Go client health-checks the closing connection meanwhile (the case
      // that aborted Node when sockets were destroyed under live HTTP/2 sessions).
      await second.close();
      const moved = await client.waitForEvent((e) => e.event === 'connected' && e['server'] === `127.0.0.1:${port}`, 30_000, 'reconnect to 127.0.0.1', from);
      await eventually(() => first.manager.checkValid(String(moved['connectionId'])), 10_000, 'registered on 127.0.0.1');
    });
  },
});
