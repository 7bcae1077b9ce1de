/**
 * `npm run build` (after tsc): bundles the deployed entry points, `functions/*.ts`, with esbuild into
 * `dist/bundle/functions/*.js` (package.json `main`), so that a cold Flex Consumption instance reads a few files
 * instead of resolving and compiling the SDKs module by module before the first alert is answered.
 *
 * - One shared chunk (`dist/bundle/chunks/`) holds the app and its packages, `@azure/functions` included: both
 *   entry points load the same copy, so the library registers both functions with one programming model.
 * - `@azure/functions-core` stays external: the host's Node.js worker provides it at run time; it is not on npm
 *   (Azure/azure-functions-nodejs-library#201).
 * - ESM output; the bundled CommonJS packages' `require` (built-ins, `@azure/functions-core`) comes from
 *   `createRequire`. Source maps are written next to each file (deployed; Node reads them with
 *   `--enable-source-maps`).
 *
 * The local runner and the tests keep loading `functions/*.ts` themselves; `test/bench/` compares import times.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildResult } from 'esbuild';

/** The repository root (this file sits there). */
const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** Options for {@link bundleFunctions}. */
export interface BundleFunctionsOptions {
  /** Where to write `functions/*.js` and `chunks/`. Default `<repo>/dist/bundle`. */
  outdir?: string;
  /** Minify (default true: less to parse on a cold start; the source maps keep stack traces readable). */
  minify?: boolean;
}

/** The deployed entry points: every `functions/*.ts` but declarations and tests. */
export function functionEntryPoints(): string[] {
  const dir = path.join(ROOT, 'functions');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !/\.(d|test)\.ts$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Bundles the entry points; resolves with esbuild's result (its metafile says what went in). */
export async function bundleFunctions(options: BundleFunctionsOptions = {}): Promise<BuildResult> {
  return build({
    entryPoints: functionEntryPoints(),
    outbase: ROOT,
    outdir: options.outdir ?? path.join(ROOT, 'dist', 'bundle'),
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    minify: options.minify ?? true,
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    external: ['@azure/functions-core'],
    banner: {
      // Only `require`: esbuild renames module-level `require` declarations away from it, but not other names
      // (a bundled ESM package declares its own `__dirname`), so nothing else is added here.
      js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);",
    },
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const result = await bundleFunctions();
  const outputs = Object.entries(result.metafile?.outputs ?? {}).filter(([f]) => f.endsWith('.js'));
  const kib = outputs.reduce((sum, [, o]) => sum + o.bytes, 0) / 1024;
  console.log(
    `bundled ${functionEntryPoints().length} entry points into ${outputs.length} files (${kib.toFixed(0)} KiB) in ${Math.round(performance.now() - started)} ms`,
  );
}
