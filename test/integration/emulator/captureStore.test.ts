import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { CaptureStore } from '../../emulator/CaptureStore.js';
import {
  CAPTURE_CONTAINER,
  CAPTURE_START_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
} from '../../emulator/index.js';
import { networkClient, startTestEmulator } from './emulatorFixture.js';

/** Where capture files go and the `storagePath` reported for them, with key and SAS connection strings. */

const SUB = '77777777-0000-0000-0000-000000000000';

function connectionPart(name: string): string {
  const match = new RegExp(`(?:^|;)${name}=([^;]+)`).exec(inject('azuriteConnectionString'));
  if (!match?.[1]) throw new Error(`the Azurite connection string has no ${name}`);
  return match[1];
}

/** The run's Azurite reached with an account SAS instead of the account key. */
function sasConnectionString(): { connectionString: string; sas: string } {
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3600_000),
      permissions: AccountSASPermissions.parse('rwdlac'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
    },
    new StorageSharedKeyCredential(connectionPart('AccountName'), connectionPart('AccountKey')),
  ).toString();
  return {
    connectionString: `BlobEndpoint=${connectionPart('BlobEndpoint')};SharedAccessSignature=${sas}`,
    sas,
  };
}

/** The plain URL of the capture container in the run's Azurite. */
function containerUrl(): string {
  return `${connectionPart('BlobEndpoint').replace(/\/$/, '')}/${CAPTURE_CONTAINER}`;
}

async function downloadWithKey(blobPath: string): Promise<Buffer> {
  return BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'))
    .getContainerClient(CAPTURE_CONTAINER)
    .getBlobClient(blobPath)
    .downloadToBuffer();
}

describe('CaptureStore with a SAS connection string', () => {
  it('answers the plain blob URL: the path after the container, no SAS query', () => {
    const { connectionString, sas } = sasConnectionString();
    const store = new CaptureStore(connectionString);

    const url = store.urlFor('subscriptions/s/resourcegroups/rg/x/2026/01/02/packetcapture_01_02_03_004.cap');

    expect(url).toBe(
      `${containerUrl()}/subscriptions/s/resourcegroups/rg/x/2026/01/02/packetcapture_01_02_03_004.cap`,
    );
    expect(url).not.toContain('?');
    expect(url).not.toContain(sas.slice(0, 20));
  });

  it('uploads the file at its blob path in the container', async () => {
    const { connectionString } = sasConnectionString();
    const blobPath = `sas-test/${randomUUID()}/packetcapture_00_00_00_000.cap`;

    await new CaptureStore(connectionString).upload(blobPath, Buffer.from('pcap bytes'));

    expect((await downloadWithKey(blobPath)).toString()).toBe('pcap bytes');
  });
});

describe('CaptureStore with a key connection string', () => {
  it('answers the blob URL under the container', () => {
    const store = new CaptureStore(inject('azuriteConnectionString'));
    expect(store.urlFor('a/b/c.cap')).toBe(`${containerUrl()}/a/b/c.cap`);
  });
});

describe('CaptureStore without a connection string', () => {
  it('answers the URL the storage account of storageId would have', () => {
    const store = new CaptureStore();
    const storageId = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/CaptureStore1`;
    expect(store.urlFor('a/b.cap', storageId)).toBe(
      `https://capturestore1.blob.core.windows.net/${CAPTURE_CONTAINER}/a/b.cap`,
    );
  });
});

describe('emulator writing capture files with a SAS connection string', () => {
  it('reports a storagePath without the SAS, and the file is at that URL', async () => {
    const { connectionString } = sasConnectionString();
    const emulator = await startTestEmulator({ timeScale: 1, blobConnectionString: connectionString });
    try {
      const vm = `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-01`;
      emulator.registerVm({ id: vm, location: 'westeurope' });
      const client = networkClient(emulator, SUB);
      await client.packetCaptures.beginCreate('NetworkWatcherRG', 'NetworkWatcher_westeurope', 'pc1', {
        target: vm,
        storageLocation: {
          storageId: `/subscriptions/${SUB}/resourceGroups/app-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1`,
        },
        timeLimitInSeconds: 30,
      });
      await emulator.advanceClock(CAPTURE_START_SECONDS + 30 + DEFAULT_UPLOAD_DELAY_SECONDS);

      const got = await client.packetCaptures.get('NetworkWatcherRG', 'NetworkWatcher_westeurope', 'pc1');
      const storagePath = got.storageLocation?.storagePath ?? '';
      expect(emulator.captures()[0]?.status).toBe('Stopped');
      expect(storagePath).not.toContain('?');
      expect(storagePath.startsWith(`${containerUrl()}/subscriptions/${SUB}/`)).toBe(true);
      const file = await downloadWithKey(storagePath.slice(containerUrl().length + 1));
      // A classic pcap file (little-endian magic).
      expect(file.readUInt32LE(0)).toBe(0xa1b2c3d4);
    } finally {
      await emulator.stop();
    }
  });
});
