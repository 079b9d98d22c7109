import type { Labels, RequestMessage, ResponseMessage } from '../../protocol/index.js';
import type { Connection } from '../connection.js';

/** What a handler knows of the caller: the registered connection (spec 5.3 step 7). */
export interface RequestMeta {
  readonly connectionId: string;
  /** The IP the client reported at setup. */
  readonly clientIp: string;
  readonly clientVersion: string;
  readonly labels: Labels;
  readonly connection: Connection;
}

/** Handles one request type. Throwing a NacosRemoteError keeps its code; anything else is 500. */
export type RequestHandler = (request: RequestMessage, meta: RequestMeta) => ResponseMessage | Promise<ResponseMessage>;

/** Request handlers keyed by wire type name (Nacos `RequestHandlerRegistry`). */
export class HandlerRegistry {
  private readonly handlers = new Map<string, RequestHandler>();

  /** Registers or replaces the handler for a request type. */
  register(type: string, handler: RequestHandler): this {
    this.handlers.set(type, handler);
    return this;
  }

  get(type: string): RequestHandler | undefined {
    return this.handlers.get(type);
  }

}
