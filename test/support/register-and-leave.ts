// Registers N connections one after another, closing each, from a process of its own (so the
// server sees every close arrive from outside its event loop, as in production).
// Usage: node --import tsx test/support/register-and-leave.ts <host> <sdkPort> <count>
import { RawPeer } from './raw-peer.js';

const [host = '127.0.0.1', port = '0', count = '1'] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  const peer = new RawPeer(host, Number(port));
  await peer.register();
  peer.close();
}
process.exit(0);
