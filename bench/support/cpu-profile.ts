// Reading a V8 .cpuprofile (node --cpu-prof): self time (samples) by part of the code, by file and
// by function, as shares of the busy samples (idle and "(program)" left out).
import { readFileSync } from 'node:fs';

export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string } }[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export function readCpuProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** The profile's samples taken between two monotonic times (microseconds). */
export function inWindow(profile: CpuProfile, fromMicros: number, toMicros: number): CpuProfile {
  let at = profile.startTime;
  const samples = profile.samples.filter((_, i) => {
    at += profile.timeDeltas[i]!;
    return at >= fromMicros && at <= toMicros;
  });
  if (samples.length === 0) throw new Error('no profile samples in the measured window (is the profile clock not the monotonic clock?)');
  return { ...profile, samples };
}

/** Whether a function is ours: under `dir`, and not a dependency's own src/ (protobufjs, grpc-js). */
const ours = (url: string, dir: string): boolean => url.includes(dir) && !url.includes('/node_modules/');

/** The parts of the unary path, by where a function's code lives; the first that matches names it. */
const PARTS: readonly (readonly [string, (url: string, name: string) => boolean])[] = [
  ['garbage collection', (_url, name) => name === '(garbage collector)'],
  ['our framing (frame-decoder, inbound-budget)', (url) => ours(url, '/src/server/transport/frame-decoder') || ours(url, '/src/server/transport/inbound-budget')],
  ['our transport (src/server/transport, rest)', (url) => ours(url, '/src/server/transport/')],
  ['our acceptors (src/server/acceptors)', (url) => ours(url, '/src/server/acceptors/')],
  ['our handlers (src/server/handlers)', (url) => ours(url, '/src/server/handlers/')],
  ['our connections (src/server, rest)', (url) => ours(url, '/src/server/')],
  ['our codec (src/protocol)', (url) => ours(url, '/src/protocol/')],
  ['our metrics and admin (src/admin)', (url) => ours(url, '/src/admin/')],
  ['our other code (src)', (url) => ours(url, '/src/')],
  ['bench baseline code (bench/)', (url) => ours(url, '/bench/')],
  ['protobufjs', (url) => url.includes('/node_modules/protobufjs/') || url.includes('/node_modules/@protobufjs/')],
  ['prom-client', (url) => url.includes('/node_modules/prom-client/')],
  ['pino', (url) => url.includes('/node_modules/pino')],
  ['grpc-js', (url) => url.includes('/node_modules/@grpc/')],
  ['node:http2', (url) => url.startsWith('node:internal/http2')],
  ['node: streams', (url) => url.startsWith('node:internal/streams')],
  ['node: events', (url) => url === 'node:events' || url.startsWith('node:internal/events')],
  ['node: timers', (url) => url.startsWith('node:internal/timers') || url === 'node:timers'],
  ['node: other', (url) => url.startsWith('node:')],
  ['native and unattributed', () => true],
];

export const partOf = (url: string, name: string): string => PARTS.find(([, matches]) => matches(url, name))![0];
const shortUrl = (url: string): string => url.replace(/^.*\/(src|bench|node_modules)\//, '$1/');
export const fileOf = (url: string, name: string): string => (url === '' ? name : shortUrl(url));
export const functionOf = (url: string, name: string): string => `${name || '(anonymous)'} ${shortUrl(url)}`;

/** Busy samples (not idle) counted by a key of their function; largest first, as shares. */
export function shares(profile: CpuProfile, keyOf: (url: string, name: string) => string, top = Infinity): string[][] {
  const keys = new Map<number, string>();
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame;
    keys.set(node.id, functionName === '(idle)' || functionName === '(program)' ? '' : keyOf(url, functionName));
  }
  const counts = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const key = keys.get(id) ?? '';
    if (key === '') continue;
    busy++;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, count]) => [key, `${((count * 100) / busy).toFixed(1)} %`]);
}
