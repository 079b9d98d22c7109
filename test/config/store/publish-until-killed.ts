/**
 * Child process for the crash test: publishes `key-<n>` forever, printing `acked <n>` after each
 * publish resolves, until its parent SIGKILLs it.
 */
import { SqliteConfigStore } from '../../../src/config/store/sqlite.js';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: publish-until-killed.ts <db file>');
const store = new SqliteConfigStore(file);
for (let n = 0; ; n++) {
  await store.publish({ key: { dataId: `key-${n}`, group: 'G', tenant: '' }, content: `content ${n}`, time: Date.now() });
  process.stdout.write(`acked ${n}\n`);
}
