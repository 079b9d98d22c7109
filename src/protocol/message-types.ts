import { INTERNAL_MODULE } from './codes.js';
import { setOwn } from './fields.js';
import type { JsonObject, RequestMessage, ResponseMessage } from './messages.js';

/** Reads one message type's own fields out of its JSON object; unknown keys are ignored. */
export type BodyParser<B extends object = JsonObject> = (json: JsonObject) => B;

/**
 * A business request type (config, naming, ...): its wire name, the `module` written on encode,
 * and how a receiver reads its body. Define it once and register it on each side that sees it.
 */
export interface RequestTypeDefinition<T extends string = string, B extends object = JsonObject> {
  readonly kind: 'request';
  readonly type: T;
  readonly module: string;
  readonly parseBody: BodyParser<B>;
  /** Narrows a message to this type (its body is what `parseBody` built, if it was decoded here). */
  is(message: { readonly kind: string; readonly type: string }): message is RequestMessage<T, B>;
}

/** A business response type: its wire name and how a receiver reads its body. */
export interface ResponseTypeDefinition<T extends string = string, B extends object = JsonObject> {
  readonly kind: 'response';
  readonly type: T;
  readonly parseBody: BodyParser<B>;
  /** Narrows a message to this type (its body is what `parseBody` built, if it was decoded here). */
  is(message: { readonly kind: string; readonly type: string }): message is ResponseMessage<T, B>;
}

/** Any request or response type definition, as registries take them. */
export type MessageTypeDefinition = RequestTypeDefinition<string, object> | ResponseTypeDefinition<string, object>;

const REQUEST_BASE_KEYS = new Set(['headers', 'requestId', 'module']);
const RESPONSE_BASE_KEYS = new Set(['resultCode', 'errorCode', 'message', 'requestId', 'success']);

/** Keeps every non-base, non-null key: for business types this layer only carries. */
function passthrough(baseKeys: ReadonlySet<string>): BodyParser {
  // One pass, no intermediate arrays: every business request without a parser of its own pays it.
  return (json) => {
    const body: JsonObject = {};
    for (const key of Object.keys(json)) {
      const value = json[key];
      if (value !== null && value !== undefined && !baseKeys.has(key)) setOwn(body, key, value);
    }
    return body;
  };
}

/**
 * Defines a request type. Without `parseBody` every non-base key of the body is kept as it came;
 * a parser that throws `InvalidBodyError` makes the message undecodable.
 */
export function defineRequestType<T extends string, B extends object = JsonObject>(
  type: T,
  options: { module?: string; parseBody?: BodyParser<B> } = {},
): RequestTypeDefinition<T, B> {
  return {
    kind: 'request',
    type,
    module: options.module ?? INTERNAL_MODULE,
    // Without a parser B is its default, JsonObject, which passthrough returns.
    parseBody: options.parseBody ?? (passthrough(REQUEST_BASE_KEYS) as BodyParser<B>),
    is: (message): message is RequestMessage<T, B> => message.kind === 'request' && message.type === type,
  };
}

/**
 * Defines a response type. Without `parseBody` every non-base key of the body is kept as it came;
 * a parser that throws `InvalidBodyError` makes the message undecodable.
 */
export function defineResponseType<T extends string, B extends object = JsonObject>(
  type: T,
  options: { parseBody?: BodyParser<B> } = {},
): ResponseTypeDefinition<T, B> {
  return {
    kind: 'response',
    type,
    parseBody: options.parseBody ?? (passthrough(RESPONSE_BASE_KEYS) as BodyParser<B>),
    is: (message): message is ResponseMessage<T, B> => message.kind === 'response' && message.type === type,
  };
}
