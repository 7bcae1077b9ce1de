import type { TestProject } from 'vitest/node';
import type {} from 'vitest';
import { startAzurite } from './support/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the Azurite started for this test run. */
    azuriteConnectionString: string;
    azuriteBlobUrl: string;
    azuriteTableUrl: string;
  }
}

/** One in-memory Azurite for the whole run; tests isolate themselves by table and container names. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  project.provide('azuriteBlobUrl', azurite.blobUrl);
  project.provide('azuriteTableUrl', azurite.tableUrl);
  return () => azurite.stop();
}
