import { ErrorCode, NacosRemoteError } from '../protocol/index.js';

/** The client has no working connection (Nacos CLIENT_DISCONNECT, -401). */
export class ClientNotConnectedError extends NacosRemoteError {
  constructor(status: string) {
    super('CLIENT_DISCONNECT', ErrorCode.CLIENT_DISCONNECT, `Client not connected, current status:${status}`);
  }
}

/** Every start-up attempt failed; the client keeps reconnecting in the background. */
export class ClientStartError extends NacosRemoteError {
  constructor(attempts: number, options?: { cause?: unknown }) {
    super('CLIENT_START_FAILED', ErrorCode.CLIENT_DISCONNECT, `no server accepted the connection after ${attempts} attempts; reconnecting in the background`, options);
  }
}

/** The client was shut down. */
export class ClientShutdownError extends NacosRemoteError {
  constructor() {
    super('CLIENT_SHUTDOWN', ErrorCode.CLIENT_DISCONNECT, 'Client is shut down');
  }
}

/** A server could not be connected to (ServerCheck failed, setup refused, ...). */
export class ConnectFailedError extends NacosRemoteError {
  constructor(server: string, reason: string, options?: { cause?: unknown }) {
    super('CONNECT_FAILED', ErrorCode.CLIENT_DISCONNECT, `connect to ${server} failed: ${reason}`, options);
  }
}
