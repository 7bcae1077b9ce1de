/**
 * `npm run bench`: runs every benchmark in this folder (each `*.ts` file but this one), one after the other, each
 * in its own process, and prints their figures. Benchmarks print; they never assert timings.
 * `npm run bench -- webhook` runs only the files whose name contains "webhook".
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n=== bench: ${file} ===`);
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, file)], {
    stdio: 'inherit',
  });
  console.log(`=== ${file}: exit ${result.status} after ${((Date.now() - started) / 1000).toFixed(1)} s ===`);
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
