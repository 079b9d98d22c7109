import { CONFIG_NOT_FOUND } from '../protocol/config/index.js';
import { ErrorCode, NacosRemoteError } from '../protocol/index.js';

/** Error codes config answers with beyond the connection layer's (docs/config.md). */
export const ConfigErrorCode = {
  /** ConfigQueryResponse.CONFIG_NOT_FOUND. */
  NOT_FOUND: CONFIG_NOT_FOUND,
  /** Our code for what this server does not do (beta/tag configs, config in a cluster). */
  NOT_SUPPORTED: 501,
} as const;

/** A dataId, group, tenant, tag or content Nacos's ParamUtils would refuse (errorCode 400). */
export class InvalidConfigParamError extends NacosRemoteError {
  constructor(message: string) {
    super('INVALID_CONFIG_PARAM', ErrorCode.INVALID_PARAM, message);
  }
}

/** A publish with casMd5 found another md5 stored: nothing was written. */
export class CasMismatchError extends NacosRemoteError {
  constructor() {
    super('CAS_MISMATCH', ErrorCode.SERVER_ERROR, 'Cas publish fail,server md5 may have changed.');
  }
}

/** Beta (per-IP) and tag configs are not implemented. */
export class ConfigNotSupportedError extends NacosRemoteError {
  constructor(what: string) {
    super('CONFIG_NOT_SUPPORTED', ConfigErrorCode.NOT_SUPPORTED, `${what} configs are not supported by this server`);
  }
}

/** Config on a node with other members needs a store the members share (node config `db`). */
export class SharedStoreRequiredError extends NacosRemoteError {
  constructor() {
    super(
      'CONFIG_NEEDS_SHARED_STORE',
      ConfigErrorCode.NOT_SUPPORTED,
      'config in a cluster needs a shared database: configure db (a MySQL/MariaDB with Nacos\'s schema, docs/config.md), or run config on a standalone node',
    );
  }
}

/** The store failed (disk, corruption); the change was not made. */
export class ConfigStoreError extends NacosRemoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_STORE_ERROR', ErrorCode.SERVER_ERROR, message, options);
  }
}

/**
 * The shared database cannot be reached (refused, timed out, connection lost): a change may or may
 * not have been made (a connection lost during its commit may have committed); read it back.
 * Reads are answered from the member's cache meanwhile; the store reconnects by itself.
 */
export class ConfigStoreUnavailableError extends NacosRemoteError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_STORE_UNAVAILABLE', ErrorCode.OVER_THRESHOLD, message, options);
  }
}

/** A member's re-read of a key overlapped a store of it each time: the copy is doubted and the catch-up reads the key again. */
export class ConfigReadRacedError extends NacosRemoteError {
  constructor(message: string) {
    super('CONFIG_READ_RACED', ErrorCode.SERVER_ERROR, message);
  }
}
