/** The protocol's public surface, and internals its tests reach (not exported from src/protocol/index.ts). */
export * from '../../src/protocol/index.js';
export { PayloadType as PayloadTypeForTests } from '../support/payload-proto.js';
