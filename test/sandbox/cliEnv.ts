import { writeFile } from 'node:fs/promises';
import { SETTING_NAMES } from '../../src/config.js';

/**
 * The lines of `.sandbox/cli.env`: what points `alert-capture` (the operator CLI) at the sandbox — the app's
 * settings, the emulator's managed-identity endpoint (read by `DefaultAzureCredential`) and its CA certificate
 * (`NODE_EXTRA_CA_CERTS`). Shell syntax, single-quoted, for `set -a; . .sandbox/cli.env`.
 */
export function cliEnvText(appSettings: Readonly<Record<string, string>>, caFile: string): string {
  const names = [...SETTING_NAMES, 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER'];
  const lines = names
    .filter((name) => appSettings[name] !== undefined && appSettings[name] !== '')
    .map((name) => `${name}=${shellQuote(appSettings[name]!)}`);
  lines.push(`NODE_EXTRA_CA_CERTS=${shellQuote(caFile)}`);
  return `# alert-capture CLI against the sandbox: set -a; . .sandbox/cli.env; npx alert-capture list\n${lines.join('\n')}\n`;
}

/** Writes {@link cliEnvText} with mode 600: it holds the identity header and connection strings. */
export async function writeCliEnv(
  file: string,
  appSettings: Readonly<Record<string, string>>,
  caFile: string,
) {
  await writeFile(file, cliEnvText(appSettings, caFile), { mode: 0o600 });
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
