import * as grpc from '@grpc/grpc-js';
import {
  decodePayload,
  defaultRegistry,
  encodePayload,
  GrpcPaths,
  isSuccess,
  request,
  type Message,
  type MessageRegistry,
  type RequestMessage,
  type ResponseMessage,
} from '../../src/protocol/index.js';

const identity = (b: Buffer): Buffer => b;

/**
 * A raw protocol peer for tests: a grpc-js client with our codec and nothing else, so tests
 * drive the server message by message (including bad input). One HTTP/2 connection per peer.
 */
export class RawPeer {
  readonly client: grpc.Client;
  private stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  /** Everything the server sent on the stream, decoded (or the error for bytes that did not decode). */
  readonly received: (Message | Error)[] = [];
  private waiters: (() => void)[] = [];
  streamEnded = false;
  streamError: Error | undefined;
  /** Answer pushes automatically with `<Type minus Request>Response`. */
  autoAck = true;
  /** Types the peer decodes; a test of a service adds that service's types. */
  registry: MessageRegistry = defaultRegistry;

  constructor(
    readonly host: string,
    readonly grpcPort: number,
    options: grpc.ChannelOptions = {},
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    this.client = new grpc.Client(`${host}:${grpcPort}`, credentials, {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 10 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      ...options,
    });
  }

  /** Sends raw bytes as a unary call and returns the raw reply. */
  unaryRaw(bytes: Uint8Array, timeoutMs = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        GrpcPaths.REQUEST,
        identity,
        identity,
        Buffer.from(bytes),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, value) => (error ? reject(error) : resolve(value!)),
      );
    });
  }

  async unary(message: RequestMessage, clientIp = '127.0.0.1'): Promise<ResponseMessage> {
    const reply = decodePayload(await this.unaryRaw(encodePayload(message, { clientIp, registry: this.registry })), this.registry);
    if (reply.kind !== 'response') throw new Error(`unary reply is a request: ${reply.type}`);
    return reply;
  }

  async serverCheck(): Promise<string> {
    const reply = await this.unary(request('ServerCheckRequest'));
    if (reply.type !== 'ServerCheckResponse') throw new Error(`ServerCheck failed: ${JSON.stringify(reply)}`);
    return String(reply.body['connectionId']);
  }

  openStream(): void {
    const stream = this.client.makeBidiStreamRequest(GrpcPaths.BI_STREAM, identity, identity);
    this.stream = stream;
    stream.on('data', (bytes: Buffer) => {
      let message: Message | Error;
      try {
        message = decodePayload(bytes, this.registry);
      } catch (error) {
        message = error as Error;
      }
      this.received.push(message);
      if (this.autoAck && !(message instanceof Error) && message.kind === 'request') {
        const type = message.type.replace(/Request$/, 'Response');
        this.sendRaw(encodePayload({ kind: 'response', type, resultCode: 200, errorCode: 0, requestId: message.requestId, body: {} }));
      }
      this.wake();
    });
    stream.on('error', (error: Error) => {
      this.streamError = error;
      this.streamEnded = true;
      this.wake();
    });
    stream.on('end', () => {
      this.streamEnded = true;
      this.wake();
    });
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.stream) throw new Error('stream not open');
    this.stream.write(Buffer.from(bytes));
  }

  send(message: Message, clientIp = '127.0.0.1'): void {
    this.sendRaw(encodePayload(message, { clientIp }));
  }

  setup(labels: Record<string, string> = { source: 'sdk' }, extra: { clientVersion?: string; tenant?: string; clientIp?: string } = {}): void {
    if (!this.stream) this.openStream();
    this.send(
      request('ConnectionSetupRequest', {
        clientVersion: extra.clientVersion ?? 'Nacos-Test-Peer:v1',
        labels,
        ...(extra.tenant === undefined ? {} : { tenant: extra.tenant }),
      }),
      extra.clientIp ?? '127.0.0.1',
    );
  }

  /**
   * ServerCheck, setup, then HealthChecks until one succeeds: registered, seen from the protocol
   * alone. Resolves the connectionId; throws with what came back on a refusal, a closed stream or
   * any answer but 301 (not registered yet: the setup is handled asynchronously) and success.
   */
  async register(labels: Record<string, string> = { source: 'sdk' }, timeoutMs = 5000): Promise<string> {
    const id = await this.serverCheck();
    this.setup(labels);
    let last: ResponseMessage | undefined;
    await eventually(
      async () => {
        const refusal = this.pushesOf('ConnectResetRequest')[0];
        if (refusal) throw new Error(`registration of ${id} refused: ${JSON.stringify(refusal)}`);
        if (this.streamEnded) throw new Error(`registration of ${id}: stream ended (${this.streamError?.message ?? 'by the server'})`);
        last = await this.unary(request('HealthCheckRequest'));
        if (isSuccess(last)) return true;
        if (last.errorCode !== 301) throw new Error(`registration of ${id} failed: ${JSON.stringify(last)}`);
        return false;
      },
      timeoutMs,
      () => `registration of ${id} (last HealthCheck answer: ${JSON.stringify(last)})`,
    );
    return id;
  }

  /** Whether the peer's HTTP/2 connection is up (its channel READY); false once the server closed it. */
  get transportOpen(): boolean {
    return this.client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
  }

  /** Ends our side of the stream. */
  endStream(): void {
    this.stream?.end();
  }

  /** Waits until the predicate holds over what was received (hang guard: timeoutMs). */
  async waitFor<T>(check: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  pushesOf(type: string): RequestMessage[] {
    return this.received.filter((m): m is RequestMessage => !(m instanceof Error) && m.kind === 'request' && m.type === type);
  }

  close(): void {
    try {
      this.stream?.cancel();
    } catch {
      // already closed
    }
    this.client.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Polls until `check` returns a truthy value (hang guard: timeoutMs). */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  what: string | (() => string) = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
