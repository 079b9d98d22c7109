/**
 * Local snapshot files (Java's `LocalConfigInfoProcessor` snapshots): the last content the
 * server gave for each key, so an application can start with it while no server answers.
 * One file per key in one folder, named by the URL-encoded group key: the name always holds an
 * encoded `+`, so no key can name `.`, `..` or a path.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { groupKey, type ConfigKey } from '../protocol/config/index.js';

export class ConfigSnapshots {
  private written = 0;

  constructor(private readonly dir: string) {}

  private file(key: ConfigKey): string {
    return join(this.dir, encodeURIComponent(groupKey(key)));
  }

  /** The key's last known content; undefined when there is none (or it was removed). */
  async read(key: ConfigKey): Promise<string | undefined> {
    try {
      return await readFile(this.file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Keeps the content (undefined: the key has none, and its file goes). Written whole, then renamed, so a reader never sees half. */
  async write(key: ConfigKey, content: string | undefined): Promise<void> {
    const file = this.file(key);
    if (content === undefined) {
      await rm(file, { force: true });
      return;
    }
    await mkdir(this.dir, { recursive: true });
    const temporary = `${file}.${process.pid}.${++this.written}.tmp`;
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, file);
  }
}
