import { rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type {} from 'vitest';
import { startAzurite } from './support/azurite.js';
import { createCertificate, writeCertificateFile } from './emulator/createCertificate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the Azurite started for this test run. */
    azuriteConnectionString: string;
    azuriteBlobUrl: string;
    azuriteTableUrl: string;
    /** TLS key and cert for Network Watcher emulators of this run (trusted through NODE_EXTRA_CA_CERTS). */
    emulatorTls: { key: string; cert: string };
  }
}

/** One in-memory Azurite for the whole run; tests isolate themselves by table and container names. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  project.provide('azuriteBlobUrl', azurite.blobUrl);
  project.provide('azuriteTableUrl', azurite.tableUrl);
  // Node reads NODE_EXTRA_CA_CERTS only at process start; the fork workers inherit it from here.
  const emulatorTls = await createCertificate();
  const caFile = writeCertificateFile(emulatorTls.cert);
  process.env.NODE_EXTRA_CA_CERTS = caFile;
  project.provide('emulatorTls', emulatorTls);
  return async () => {
    await azurite.stop();
    rmSync(path.dirname(caFile), { recursive: true, force: true });
  };
}
