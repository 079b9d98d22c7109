// Registers one naming instance over a raw protocol connection from a process of its own, prints
// `registered`, and stays connected until it is killed (so a test can SIGKILL a real publisher).
// Usage: node --import tsx test/support/raw-naming-publisher.ts <host> <sdkPort> <serviceName> <instanceIp> <instancePort>
import { defineNamingTypes } from '../../src/protocol/naming/messages.js';
import { decodePayload, defaultRegistry, encodePayload } from '../../src/protocol/index.js';
import { RawPeer } from './raw-peer.js';

const [host = '127.0.0.1', sdkPort = '0', serviceName = 'orders', ip = '10.0.0.1', port = '8080'] = process.argv.slice(2);
defineNamingTypes(defaultRegistry);
const peer = new RawPeer(host, Number(sdkPort));
await peer.register({ source: 'sdk', module: 'naming' });
const instance = { ip, port: Number(port), weight: 1, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata: {} };
const body = { namespace: 'public', groupName: 'DEFAULT_GROUP', serviceName, type: 'registerInstance', instance };
const reply = decodePayload(await peer.unaryRaw(encodePayload({ kind: 'request', type: 'InstanceRequest', headers: {}, body }, { clientIp: '127.0.0.1' })));
if (reply.kind !== 'response' || reply.type !== 'InstanceResponse') {
  process.stderr.write(`register failed: ${JSON.stringify(reply)}\n`);
  process.exit(1);
}
process.stdout.write('registered\n');
// Stays until killed.
setInterval(() => undefined, 60_000);
