import { splitRedirect } from '../server/connection-manager.js';
import { BadParameterError } from './errors.js';

export type Query = Readonly<Record<string, unknown>>;

/** A parameter as given, whitespace kept (content keeps its own; blank content is refused by config). */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadParameterError(name, 'must be given once');
  return value;
}

export function requiredString(query: Query, name: string): string {
  const value = single(query, name);
  if (value === undefined || value.trim() === '') throw new BadParameterError(name, 'is required');
  return value.trim();
}

export function optionalString(query: Query, name: string): string | undefined {
  const value = single(query, name)?.trim();
  return value === '' ? undefined : value;
}

/** A whole number within [min, max], and always a safe integer (beyond that Number() rounds). */
export function integer(query: Query, name: string, options: { required: true; min?: number; max?: number }): number;
export function integer(query: Query, name: string, options: { required?: false; min?: number; max?: number }): number | undefined;
export function integer(query: Query, name: string, options: { required?: boolean; min?: number; max?: number }): number | undefined {
  const text = options.required ? requiredString(query, name) : optionalString(query, name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw new BadParameterError(name, `must be an integer, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new BadParameterError(name, `must be between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}, got '${text}'`);
  if (options.min !== undefined && value < options.min) throw new BadParameterError(name, `must be at least ${options.min}`);
  if (options.max !== undefined && value > options.max) throw new BadParameterError(name, `must be at most ${options.max}`);
  return value;
}

/** A number strictly between 0 and 1 (a loader factor). */
export function fraction(query: Query, name: string): number | undefined {
  const text = optionalString(query, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value >= 1) throw new BadParameterError(name, `must be a number between 0 and 1, got '${text}'`);
  return value;
}

/** `ip:port` (IPv6 in brackets), the main port of a server, as Nacos's redirect addresses. */
export function redirectAddress(query: Query, name = 'redirectAddress'): string | undefined {
  const text = optionalString(query, name);
  if (text === undefined) return undefined;
  const { serverIp, serverPort } = splitRedirect(text);
  const port = Number(serverPort);
  if (!serverIp || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BadParameterError(name, `must be ip:port (IPv6 as [ip]:port), got '${text}'`);
  }
  return text;
}
