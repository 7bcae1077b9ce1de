import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (…/main). */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Microsoft's published samples, copied unchanged into `test/fixtures/published-alerts/`. */
export const sharedAlertsDir = path.join(repoRoot, 'test', 'fixtures', 'published-alerts');

/** Our VM-targeted variants. */
export const ownAlertsDir = path.join(repoRoot, 'test', 'fixtures', 'alerts');

/** Every JSON file name in `dir`, sorted. */
export function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** The parsed JSON body of one fixture. */
export function loadJson(dir: string, file: string): unknown {
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown;
}

/** One of our VM-targeted variants. */
export function ownFixture(file: string): Record<string, unknown> {
  return loadJson(ownAlertsDir, file) as Record<string, unknown>;
}
