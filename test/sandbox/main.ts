/**
 * `npm run sandbox`: the whole app on loopback, no Azure needed. Writes `.sandbox/sandbox.json`, prints a summary,
 * and stays up until SIGINT/SIGTERM. App settings in this environment override the sandbox defaults
 * (e.g. `ALLOWED_SCOPES=... npm run sandbox`); `SANDBOX_TIME_SCALE` sets the emulator's clock speed (default 60);
 * `SANDBOX_VERBOSE=1` prints the app's log lines.
 */
import path from 'node:path';
import { startSandbox } from './index.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const verbose = process.env.SANDBOX_VERBOSE === '1';
  const timeScale = process.env.SANDBOX_TIME_SCALE ? Number(process.env.SANDBOX_TIME_SCALE) : undefined;
  if (timeScale !== undefined && !(timeScale > 0)) {
    throw new Error(
      `SANDBOX_TIME_SCALE: expected a positive number, found "${process.env.SANDBOX_TIME_SCALE}"`,
    );
  }
  const sandbox = await startSandbox({
    ...(timeScale !== undefined ? { timeScale } : {}),
    log: (line) => {
      if (verbose || !line.startsWith('[app] ')) console.log(line);
    },
  });
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const relative = (p: string | undefined): string =>
    p ? path.relative(process.cwd(), p) || p : '(not written)';
  console.log(`
alert-capture sandbox ready in ${seconds} s (Ctrl+C stops everything)
  webhook        POST ${sandbox.webhookUrl}   (header x-functions-key: see sandbox.json)
  emulator       ${sandbox.emulatorUrl}   (CA: ${relative(sandbox.emulatorCaFile)})
  notifications  GET ${sandbox.notificationsUrl}
  azurite blob   ${sandbox.azuriteBlobUrl}
  settings       ALLOWED_SCOPES=${sandbox.appSettings.ALLOWED_SCOPES}  CAPTURE_POLL_SCHEDULE="${sandbox.appSettings.CAPTURE_POLL_SCHEDULE}"
  everything else, with the function key: ${relative(sandbox.sandboxFile)}
  operator CLI   set -a; . ${relative(sandbox.cliEnvFile)}; npx alert-capture list
Register a VM:
  curl --cacert ${relative(sandbox.emulatorCaFile)} -X POST ${sandbox.emulatorUrl}/_emulator/vms -H 'content-type: application/json' \\
    -d '{"id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1","location":"westeurope"}'
`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('stopping the sandbox...');
    sandbox.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
