import {
  errorResponse,
  RequestTimeoutError,
  response,
  type Message,
  type RequestMessage,
  type ResponseMessage,
  type Timers,
} from '../../src/protocol/index.js';
import { formatAddress, type ServerAddress } from '../../src/client/server-list.js';
import type { ClientConnection, ConnectionFactory } from '../../src/client/transport.js';

/** How a fake server behaves; change it at any time. */
export interface FakeServerBehaviour {
  /** ServerCheck answers (false: the server is down, its port refuses connections). */
  up: boolean;
  /** While down, the ServerCheck times out (a host that does not answer) instead of being refused. */
  silentWhenDown?: boolean;
  /** Setup accepted (false: confirmation HealthCheck gets 301, as a refused setup). */
  acceptSetup: boolean;
  /** How HealthCheck and other requests are answered once registered. */
  health: 'ok' | 'timeout' | 'unregister';
  /** Answers requests other than ServerCheck and HealthCheck once registered (else as HealthCheck); may reject. */
  answer?: (request: RequestMessage) => Promise<ResponseMessage>;
}

let seq = 0;

/** A ClientConnection with no I/O: answers come from the fake server's behaviour. */
export class FakeClientConnection implements ClientConnection {
  connectionId = '';
  abandoned = false;
  closed = false;
  readonly requests: RequestMessage[] = [];
  readonly sent: Message[] = [];
  registered = false;
  private onMessage: ((m: Message) => void) | undefined;
  private onEnd: ((reason: string) => void) | undefined;

  constructor(
    readonly server: ServerAddress,
    private readonly behaviour: FakeServerBehaviour,
    private readonly timers: Timers,
  ) {}

  get address(): string {
    return formatAddress(this.server);
  }

  request(message: RequestMessage, timeoutMs: number): Promise<ResponseMessage> {
    this.requests.push(message);
    if (this.closed) return Promise.reject(new Error('closed'));
    if (message.type === 'ServerCheckRequest') {
      if (!this.behaviour.up && this.behaviour.silentWhenDown === true) {
        return new Promise((_, reject) => this.timers.setTimeout(() => reject(new RequestTimeoutError('timeout')), timeoutMs));
      }
      // As grpc-js words a refused connect.
      if (!this.behaviour.up) return Promise.reject(new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED'));
      return Promise.resolve(response('ServerCheckResponse', { connectionId: `${++seq}_${this.server.ip}_1` }));
    }
    if (!this.registered || this.behaviour.health === 'unregister') {
      return Promise.resolve(errorResponse(301, 'Connection is unregistered.'));
    }
    if (this.behaviour.health === 'timeout' || !this.behaviour.up) {
      return new Promise((_, reject) => this.timers.setTimeout(() => reject(new RequestTimeoutError('timeout')), timeoutMs));
    }
    if (this.behaviour.answer !== undefined && message.type !== 'HealthCheckRequest') return this.behaviour.answer(message);
    return Promise.resolve(response('HealthCheckResponse'));
  }

  openStream(onMessage: (m: Message) => void, onEnd: (reason: string) => void): void {
    this.onMessage = onMessage;
    this.onEnd = onEnd;
  }

  send(message: Message): void {
    this.sent.push(message);
    if (message.kind === 'request' && message.type === 'ConnectionSetupRequest' && this.behaviour.acceptSetup) this.registered = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The server pushes a request on the stream. */
  push(message: RequestMessage): void {
    this.onMessage?.(message);
  }

  /** The server (or network) ends the stream. */
  endStream(reason = 'stream ended by server'): void {
    this.onEnd?.(reason);
  }
}

/** Fake servers by `ip:port`, and every connection the client made, in order. */
export class FakeNetwork {
  readonly servers = new Map<string, FakeServerBehaviour>();
  readonly connections: FakeClientConnection[] = [];
  /** When each connection was created (fake clock). */
  readonly createdAt: number[] = [];

  constructor(
    private readonly timers: Timers,
    addresses: readonly string[],
  ) {
    for (const a of addresses) this.servers.set(a, { up: true, acceptSetup: true, health: 'ok' });
  }

  server(address: string): FakeServerBehaviour {
    const s = this.servers.get(address);
    if (!s) throw new Error(`no fake server ${address}`);
    return s;
  }

  readonly factory: ConnectionFactory = (server) => {
    const behaviour = this.servers.get(formatAddress(server)) ?? { up: false, acceptSetup: false, health: 'timeout' as const };
    const connection = new FakeClientConnection(server, behaviour, this.timers);
    this.connections.push(connection);
    this.createdAt.push(this.timers.now());
    return connection;
  };

  /** Connections opened to a server (by `ip:port`). */
  to(address: string): FakeClientConnection[] {
    return this.connections.filter((c) => c.address === address);
  }
}
