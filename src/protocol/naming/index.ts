/** Naming's wire types and message definitions, shared by the server (src/naming) and the SDK (src/client). */
export * from './wire.js';
export { NamingMessages, defineNamingTypes, namingBody, namingResponse, notifySubscriberRequest } from './messages.js';
