import type { ConfigStoreError } from '../errors.js';
import type { ConfigStore } from './types.js';

/**
 * Stands in for a store that could not be opened (no native SQLite binding, an unreadable file):
 * every call fails with why, so config requests get a clear error and the rest of the node runs.
 */
export class UnavailableConfigStore implements ConfigStore {
  constructor(readonly reason: ConfigStoreError) {}

  private readonly fail = (): Promise<never> => Promise.reject(this.reason);
  readonly get = this.fail;
  readonly publish = this.fail;
  readonly remove = this.fail;
  readonly history = this.fail;
  readonly historyEntry = this.fail;
  readonly list = this.fail;
  readonly count = this.fail;
  readonly changesAfter = this.fail;
  readonly latestChange = this.fail;

  close(): Promise<void> {
    return Promise.resolve();
  }
}
