import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunctions, functionEntryPoints } from '../../../bundle.js';
import { startFunctionHost, type FunctionHost } from '../../runner/index.js';

// The deployed bundle (package.json `main`), hosted by the local runner next to the source entry points: the host
// must find the same functions with the same triggers, and the bundled handlers must answer.
let outdir: string;
let bundled: FunctionHost;
let source: FunctionHost;
const KEY = 'bundle-test-key-0123456789abcdefghijklmnopq';

beforeAll(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'alert-capture-bundle-'));
  const result = await bundleFunctions({ outdir });
  expect(result.errors).toEqual([]);
  const entries = functionEntryPoints().map((f) =>
    path.join(outdir, 'functions', path.basename(f).replace(/\.ts$/, '.js')),
  );
  bundled = await startFunctionHost({ entryPoints: entries, functionKey: KEY, enableTimers: false });
  source = await startFunctionHost({
    entryPoints: functionEntryPoints(),
    functionKey: KEY,
    enableTimers: false,
  });
}, 60_000);

afterAll(async () => {
  await bundled?.stop();
  await source?.stop();
  await rm(outdir, { recursive: true, force: true });
});

describe('the bundled entry points', () => {
  it('register the same functions as functions/*.ts', () => {
    expect(bundled.functions).toEqual(source.functions);
    expect(bundled.functions.map((f) => f.name).sort()).toEqual(['alertWebhook', 'capturePoller']);
  });

  it('serve the webhook behind the function key, answering with the app’s own errors', async () => {
    const noKey = await fetch(`${bundled.url}/api/alertWebhook`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
    const notJson = await fetch(`${bundled.url}/api/alertWebhook`, {
      method: 'POST',
      headers: { 'x-functions-key': KEY, 'content-type': 'text/plain' },
      body: 'hello',
    });
    const sourceAnswer = await fetch(`${source.url}/api/alertWebhook`, {
      method: 'POST',
      headers: { 'x-functions-key': KEY, 'content-type': 'text/plain' },
      body: 'hello',
    });
    // No app settings here: both answer the same ARM-style error (bad settings are a 503), from the same code.
    expect(notJson.status).toBe(sourceAnswer.status);
    const body = (await notJson.json()) as { error?: { code?: string } };
    expect(body.error?.code).toEqual(expect.any(String));
    expect(body).toEqual(await sourceAnswer.json());
  });

  it('keep source maps next to every file', async () => {
    const { readdir } = await import('node:fs/promises');
    const files = await readdir(path.join(outdir, 'functions'));
    expect(files.filter((f) => f.endsWith('.js.map')).sort()).toEqual([
      'alertWebhook.js.map',
      'capturePoller.js.map',
    ]);
  });
});
