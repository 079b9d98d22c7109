export * from '../../src/protocol/index.js';
export { PayloadType as PayloadTypeForTests } from '../../src/protocol/proto.js';
