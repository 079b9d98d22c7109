import { ErrorCode, NacosRemoteError } from '../protocol/index.js';

/** A naming request's parameter is missing or out of range (Nacos INVALID_PARAM, 400). */
export class NamingParamError extends NacosRemoteError {
  constructor(message: string) {
    super('INVALID_PARAM', ErrorCode.INVALID_PARAM, message);
  }
}
