/**
 * Cold start: how long a fresh Node.js process takes to import the deployed webhook entry point, unbundled (tsc
 * output: the SDKs resolved and compiled module by module from node_modules) against bundled (`bundle.ts`: one
 * shared chunk), in one run on one machine. Both are built here, under `.cache/bench/startup/`, from the current
 * sources. Each sample is a new process (as a new Flex instance is), alternating the two so that machine load
 * hits both alike; the import runs after a minimal `@azure/functions-core` stand-in is installed, as the worker
 * provides one. Prints medians and the ratio; asserts nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleFunctions } from '../../bundle.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(REPO_ROOT, '.cache', 'bench', 'startup');
const SAMPLES = Number(process.env.BENCH_STARTUP_SAMPLES ?? 9);

/**
 * Run in the child: installs a `@azure/functions-core` stand-in (what the worker injects), then times the import
 * of the entry point given as argv[1] and prints the milliseconds.
 */
const CHILD = `
import Module from 'node:module';
const core = { setProgrammingModel() {}, getProgrammingModel() {}, registerFunction() { return { dispose() {} }; },
  registerHook() { return { dispose() {} }; }, log() {}, Disposable: class { dispose() {} } };
const load = Module._load;
Module._load = function (request, ...rest) { return request === '@azure/functions-core' ? core : load.call(this, request, ...rest); };
const t0 = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - t0));
`;

function sample(entry: string): number {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(entry).href], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  if (r.status !== 0) throw new Error(`importing ${entry} failed:\n${r.stderr}`);
  return Number(r.stdout);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

rmSync(OUT, { recursive: true, force: true });
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(OUT, 'tsc')], {
  cwd: REPO_ROOT,
  stdio: 'inherit',
});
await bundleFunctions({ outdir: path.join(OUT, 'bundle') });
const unbundled = path.join(OUT, 'tsc', 'functions', 'alertWebhook.js');
const bundled = path.join(OUT, 'bundle', 'functions', 'alertWebhook.js');

// One warm-up each (the OS file cache, as on an instance whose package is mounted), then alternating samples.
sample(unbundled);
sample(bundled);
const times = { unbundled: [] as number[], bundled: [] as number[] };
for (let i = 0; i < SAMPLES; i++) {
  times.unbundled.push(sample(unbundled));
  times.bundled.push(sample(bundled));
}
const u = median(times.unbundled);
const b = median(times.bundled);
console.log(
  `import of the deployed webhook entry point (functions/alertWebhook), new process each, ${SAMPLES} samples, Node ${process.version}:`,
);
console.log(
  `  unbundled (tsc output + node_modules)  median ${u.toFixed(0)} ms  [${times.unbundled.map((t) => t.toFixed(0)).join(', ')}]`,
);
console.log(
  `  bundled (esbuild, as deployed)         median ${b.toFixed(0)} ms  [${times.bundled.map((t) => t.toFixed(0)).join(', ')}]`,
);
console.log(`  bundled / unbundled = ${(b / u).toFixed(2)} (goal: at most 0.40)`);
