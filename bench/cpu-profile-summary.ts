// Where a profiled server's busy time went: self time by part of the code, by file and by
// function, from the .cpuprofile files node wrote (e.g. a benchmark run with
// BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"; the whole life of the process).
// Usage: node --import tsx bench/cpu-profile-summary.ts FILE.cpuprofile... [--files 15] [--functions 30]
import { parseArgs } from 'node:util';
import { textTable } from './support/format.js';
import { fileOf, functionOf, partOf, readCpuProfile, shares } from './support/cpu-profile.js';

const { values: args, positionals: files } = parseArgs({
  allowPositionals: true,
  options: {
    files: { type: 'string', default: '15' },
    functions: { type: 'string', default: '30' },
  },
});
if (files.length === 0) throw new Error('usage: cpu-profile-summary.ts FILE.cpuprofile... [--files N] [--functions N]');
for (const file of files) {
  const profile = readCpuProfile(file);
  console.log(`${file}: ${profile.samples.length} samples`);
  console.log(textTable(['part (self time)', 'share of busy samples'], shares(profile, partOf), 2));
  console.log(`\n${textTable(['file (self time)', 'share'], shares(profile, fileOf, Number(args.files)), 2)}`);
  console.log(`\n${textTable(['function (self time)', 'share'], shares(profile, functionOf, Number(args.functions)), 2)}\n`);
}
