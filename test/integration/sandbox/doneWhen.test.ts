import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firedMetricAlert } from '../../support/alertPayloads.js';
import { startSandbox, SANDBOX_SUBSCRIPTION_ID } from '../../sandbox/index.js';

/**
 * Issue 9's "done when" on the sandbox (the app in the local Functions runner, the emulator's realistic Azure):
 * ALLOWED_SCOPES='*', CAPTURE_SESSION_BUDGET=10, ten Stopped captures made by people in the region, a VM whose
 * agent is named networkWatcherAgent, uploadDelaySeconds 20 and retryAfterSeconds 10: a Fired alert answers
 * `started` and ends in one `capture.completed` with a summary. Failed on d4d00f0 (agent "not installed").
 */

const SUB = `/subscriptions/${SANDBOX_SUBSCRIPTION_ID}`;
const VM = `${SUB}/resourceGroups/done-rg/providers/Microsoft.Compute/virtualMachines/vm-done-1`;
const WATCHER = `${SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope`;

describe('the sandbox, done when', () => {
  it(
    'a Fired alert answers started and ends in one capture.completed with a summary',
    { timeout: 120_000 },
    async () => {
      const outputDirectory = await mkdtemp(path.join(tmpdir(), 'sandbox-done-'));
      const sandbox = await startSandbox({
        env: { ALLOWED_SCOPES: '*', CAPTURE_SESSION_BUDGET: '10' },
        outputDirectory,
      });
      try {
        sandbox.emulator.configure({ retryAfterSeconds: 10, uploadDelaySeconds: 20 });
        sandbox.emulator.registerVm({
          id: VM,
          location: 'westeurope',
          agentExtensionName: 'networkWatcherAgent',
        });
        for (let i = 0; i < 10; i++) {
          sandbox.emulator.plantCapture({
            watcherId: WATCHER,
            name: `left-by-jane-${i}`,
            target: `${SUB}/resourceGroups/done-rg/providers/Microsoft.Compute/virtualMachines/other-${i}`,
            status: 'Stopped',
          });
        }

        const response = await fetch(sandbox.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-functions-key': sandbox.functionKey },
          body: JSON.stringify(firedMetricAlert(VM)),
        });
        const answer = (await response.json()) as { outcome?: string; captureName?: string };
        expect(response.status).toBe(202);
        expect(answer.outcome).toBe('started');

        // The 300 s capture runs 5 s at the sandbox's 60x clock; the poller ticks every 2 s.
        type Message = { type: string; capture: { name?: string }; summary?: { packets: number } };
        let messages: Message[] = [];
        for (let i = 0; i < 120 && messages.length === 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          messages = (await (await fetch(sandbox.notificationsUrl)).json()) as Message[];
        }
        // A few more ticks: nothing else is sent.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        messages = (await (await fetch(sandbox.notificationsUrl)).json()) as Message[];

        expect(messages).toHaveLength(1);
        expect(messages[0]).toMatchObject({
          type: 'capture.completed',
          capture: { name: answer.captureName },
        });
        expect(messages[0]?.summary?.packets).toBeGreaterThan(0);
        expect(sandbox.emulator.captures().filter((c) => c.name.startsWith('left-by-jane-'))).toHaveLength(
          10,
        );
      } finally {
        await sandbox.stop();
        await rm(outputDirectory, { recursive: true, force: true });
      }
    },
  );
});
