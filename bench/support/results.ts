// Where benchmarks leave their figures: bench/results/<name>.json, read by bench/run.ts to build
// latest.json, latest.md and the README's performance section.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results, or BENCH_RESULTS_DIR (bench/run.ts --quick writes elsewhere, to keep the committed figures). */
export const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? fileURLToPath(new URL('../results/', import.meta.url));

/** The machine a figure was measured on. */
export function machine(): { cores: number; cpu: string | undefined; node: string; loadAverage: number[] } {
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100) };
}

/** Writes `<name>.json` (with date and machine) and returns its path. */
export function writeResult(name: string, body: object): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: machine(), ...body }, null, 2)}\n`);
  return path;
}

/** Writes another artifact (a plot) next to the results; returns its path. */
export function writeArtifact(file: string, content: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, file);
  writeFileSync(path, content);
  return path;
}
