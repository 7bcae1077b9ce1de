/**
 * `npm run sandbox`: the whole app on loopback, no Azure needed. Writes `.sandbox/sandbox.json`, prints a summary,
 * and stays up until SIGINT/SIGTERM. App settings in this environment override the sandbox defaults
 * (e.g. `ALLOWED_SCOPES=... npm run sandbox`) and are printed (secrets masked); `SANDBOX_TIME_SCALE` sets the
 * clock speed of the emulator and the app (default 60); `SANDBOX_VERBOSE=1` prints the app's log lines. Bad
 * settings are all listed and nothing starts (exit 2). Stopping removes sandbox.json and the CA file.
 */
import path from 'node:path';
import { SandboxSettingsError, startSandbox } from './index.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const verbose = process.env.SANDBOX_VERBOSE === '1';
  // Bad settings (SANDBOX_TIME_SCALE, or any app setting given in the environment) stop it here, all listed.
  const sandbox = await startSandbox({
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
  overridden     ${
    Object.entries(sandbox.overrides)
      .map(([n, v]) => `${n}=${v}`)
      .join('  ') || '(none: every app setting is the sandbox default)'
  }
  clock          x${sandbox.timeScale} (emulator and app alike)
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
      () => {
        console.log(`stopped; removed ${relative(sandbox.sandboxFile)} and the emulator CA file`);
        process.exit(0);
      },
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
  process.exit(e instanceof SandboxSettingsError ? 2 : 1);
});
