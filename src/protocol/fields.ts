/** Typed reads of message bodies, shared by the services' message parsers (naming, config). */
import { InvalidBodyError } from './errors.js';
import type { JsonObject } from './messages.js';

/** Reads typed fields out of a JSON object, naming the field's path when one has the wrong shape. */
export class FieldReader {
  constructor(
    private readonly json: JsonObject,
    private readonly path: string,
  ) {}

  private present(key: string): unknown {
    const value = this.json[key];
    return value === null ? undefined : value;
  }

  private bad(key: string, what: string): InvalidBodyError {
    return new InvalidBodyError(`field '${this.path}${key}' must be ${what}`);
  }

  string(key: string): string | undefined {
    const value = this.present(key);
    if (value === undefined || typeof value === 'string') return value;
    // Jackson coerces scalars into String fields.
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw this.bad(key, 'a string');
  }

  number(key: string): number | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw this.bad(key, 'a number');
    return n;
  }

  int(key: string): number | undefined {
    const n = this.number(key);
    if (n !== undefined && !Number.isInteger(n)) throw this.bad(key, 'an integer');
    return n;
  }

  boolean(key: string): boolean | undefined {
    const value = this.present(key);
    if (value === undefined || typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw this.bad(key, 'a boolean');
  }

  stringMap(key: string): Record<string, string> | undefined {
    const value = this.object(key);
    if (value === undefined) return undefined;
    // fromEntries keeps a key such as "__proto__" as plain data.
    return Object.fromEntries(
      Object.keys(value)
        .map((k) => [k, new FieldReader(value, `${this.path}${key}.`).string(k)] as const)
        .filter((entry): entry is readonly [string, string] => entry[1] !== undefined),
    );
  }

  object(key: string): JsonObject | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw this.bad(key, 'an object');
    return value as JsonObject;
  }

  objects(key: string): JsonObject[] | undefined {
    const value = this.present(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.bad(key, 'an array');
    return value.map((item: unknown, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw this.bad(`${key}[${i}]`, 'an object');
      return item as JsonObject;
    });
  }
}

/** Builds a body from the given fields, dropping absent ones (Jackson's NON_NULL). */
export function compact<T>(fields: T): T {
  return Object.fromEntries(Object.entries(fields as object).filter(([, value]) => value !== undefined)) as T;
}

/**
 * Sets `key` on `target` as plain data, a key named `__proto__` included (an assignment would try
 * to set the object's prototype); only that key pays for a property definition.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
