// Throwaway: probe a real peer server (deleted after use).
import { RawPeer, eventually } from './support/raw-peer.js';
import { request } from '../src/protocol/index.js';

const port = Number(process.argv[2]);
const waitMs = Number(process.argv[3] ?? 3000);
const peer = new RawPeer('127.0.0.1', port);
try {
  const { encodePayload } = await import('../src/protocol/index.js');
  const raw = await peer.unaryRaw(encodePayload(request('ServerCheckRequest'), { clientIp: '127.0.0.1' }));
  console.log('ServerCheck raw bytes:', JSON.stringify(raw.toString('latin1')));
  const sc = await peer.unary(request('ServerCheckRequest'));
  console.log('ServerCheck reply:', JSON.stringify(sc));
  const before = await peer.unary(request('HealthCheckRequest'));
  console.log('HealthCheck before setup:', JSON.stringify(before));
  peer.setup();
  const t0 = Date.now();
  const hc = await eventually(async () => {
    const r = await peer.unary(request('HealthCheckRequest'));
    return r.errorCode !== 301 ? r : undefined;
  }, 5000, 'registration');
  const rawHc = await peer.unaryRaw(encodePayload(request('HealthCheckRequest'), { clientIp: '127.0.0.1' }));
  console.log('HealthCheck raw bytes:', JSON.stringify(rawHc.toString('latin1')));
  console.log(`HealthCheck after setup (${Date.now() - t0} ms):`, JSON.stringify(hc));
  await new Promise((r) => setTimeout(r, waitMs));
  console.log('received on stream:', JSON.stringify(peer.received.map((m) => (m instanceof Error ? String(m) : m))));
  console.log('stream ended:', peer.streamEnded, peer.streamError?.message);
} finally {
  peer.close();
}
