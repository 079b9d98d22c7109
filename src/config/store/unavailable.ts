import type { ConfigStoreError } from '../errors.js';
import type { ConfigStore } from './types.js';

/**
 * Stands in for a store that could not be opened (no native SQLite binding, an unreadable file):
 * every call fails with why, so config requests get a clear error and the rest of the node runs.
 */
export class UnavailableConfigStore implements ConfigStore {
  constructor(readonly reason: ConfigStoreError) {}

  get(): Promise<never> {
    return Promise.reject(this.reason);
  }
  publish(): Promise<never> {
    return Promise.reject(this.reason);
  }
  remove(): Promise<never> {
    return Promise.reject(this.reason);
  }
  history(): Promise<never> {
    return Promise.reject(this.reason);
  }
  historyEntry(): Promise<never> {
    return Promise.reject(this.reason);
  }
  list(): Promise<never> {
    return Promise.reject(this.reason);
  }
  count(): Promise<never> {
    return Promise.reject(this.reason);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
