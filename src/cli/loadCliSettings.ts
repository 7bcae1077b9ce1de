import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, EXIT } from './exitCodes.js';

/** The name of the Functions project's local settings file. */
export const LOCAL_SETTINGS_FILE = 'local.settings.json';

/**
 * The app settings the CLI runs with: `local.settings.json`'s `Values` in `cwd` (when the file exists), each
 * replaced by a non-empty environment variable of the same name. That is the order Core Tools applies (`func
 * start` skips a local setting "as it's already defined in current environment variables"), so one set of
 * values drives the app and the CLI.
 * @throws CliError (exit 2) when the file exists but is not JSON with a `Values` object of strings.
 */
export async function loadCliSettings(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<Record<string, string | undefined>> {
  const file = path.join(cwd, LOCAL_SETTINGS_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliError(EXIT.usage, `cannot read ${file}: ${(e as Error).message}`);
    }
  }
  const settings: Record<string, string | undefined> = {};
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(EXIT.usage, `${file}: not valid JSON`);
    }
    const values = (parsed as { Values?: unknown } | null)?.Values;
    if (values !== undefined && (typeof values !== 'object' || values === null || Array.isArray(values))) {
      throw new CliError(EXIT.usage, `${file}: "Values" must be an object of strings`);
    }
    for (const [name, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
      if (typeof value === 'string') settings[name] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') settings[name] = String(value);
      else throw new CliError(EXIT.usage, `${file}: Values.${name} must be a string`);
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') settings[name] = value;
  }
  return settings;
}
