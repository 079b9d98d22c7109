// h2load (Debian nghttp2-client) as an outside load tool: it knows nothing of our code, so its
// figure cross-checks our own driver. It cannot read grpc-status; it counts HTTP 2xx.
import { spawn, spawnSync } from 'node:child_process';

export interface H2loadOptions {
  readonly url: string;
  /** File holding the request body: one framed gRPC message. */
  readonly bodyFile: string;
  readonly clients: number;
  /** Concurrent streams per client (-m). */
  readonly streamsPerClient: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

export interface H2loadResult {
  readonly requestsPerSecond: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly status2xx: number;
  /** 3xx, 4xx and 5xx responses (a gRPC server answers HTTP 200 even for errors: see grpc-status). */
  readonly statusOther: number;
  /** h2load's "time for request" mean, in ms. */
  readonly meanMs: number;
  readonly command: string;
}

export function h2loadVersion(): string | undefined {
  const result = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export async function runH2load(options: H2loadOptions): Promise<H2loadResult> {
  const args = [
    '-c', String(options.clients),
    '-m', String(options.streamsPerClient),
    '-t', '1',
    '-D', `${options.durationMs}ms`,
    `--warm-up-time=${options.warmupMs}ms`,
    '-d', options.bodyFile,
    '-H', 'content-type: application/grpc',
    '-H', 'te: trailers',
    options.url,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`h2load exited ${code}:\n${text}`))));
  });
  const grab = (pattern: RegExp, what: string): RegExpExecArray => {
    const match = pattern.exec(output);
    if (!match) throw new Error(`h2load output has no ${what}:\n${output}`);
    return match;
  };
  const finished = grab(/finished in [\d.]+\w*, ([\d.]+) req\/s/, 'throughput');
  const requests = grab(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/, 'request counts');
  const codes = grab(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/, 'status codes');
  const time = grab(/time for request:\s+\S+\s+\S+\s+(\S+)/, 'request time');
  return {
    requestsPerSecond: Math.round(Number(finished[1])),
    succeeded: Number(requests[1]),
    failed: Number(requests[2]),
    errored: Number(requests[3]),
    status2xx: Number(codes[1]),
    statusOther: Number(codes[2]) + Number(codes[3]) + Number(codes[4]),
    meanMs: toMs(time[1]!),
    command: ['h2load', ...args].join(' '),
  };
}

/** h2load prints durations as e.g. "850us", "1.23ms", "2.01s". */
function toMs(duration: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(duration);
  if (!match) throw new Error(`h2load duration not understood: ${duration}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  return Math.round(Number(match[1]) * scale * 1000) / 1000;
}
