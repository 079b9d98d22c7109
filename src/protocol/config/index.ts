/** Config's wire types and message definitions, shared by the server (src/config) and the SDK (src/client). */
export * from './wire.js';
export { ConfigMessages } from './messages.js';
