import { parseArgs } from 'node:util';
import { CliError, EXIT } from './exitCodes.js';

/** The options a verb takes, in `node:util`'s `parseArgs` shape. */
export type VerbOptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
>;

/** What {@link parseVerbArgs} returns. */
export interface ParsedVerbArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * Parses a verb's arguments strictly: an unknown option, a missing value or too many positionals is a usage
 * error (exit 2) naming it.
 */
export function parseVerbArgs(
  verb: string,
  args: readonly string[],
  options: VerbOptionSpec,
  maxPositionals: number,
): ParsedVerbArgs {
  let parsed: ParsedVerbArgs;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true }) as ParsedVerbArgs;
  } catch (e) {
    throw new CliError(EXIT.usage, `${verb}: ${(e as Error).message}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new CliError(EXIT.usage, `${verb}: unexpected argument ${parsed.positionals[maxPositionals]}`);
  }
  return parsed;
}

/** A whole number option within bounds, or `undefined` when absent. */
export function intOption(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(EXIT.usage, `--${name} "${text}": expected a whole number from ${min} to ${max}`);
  }
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration such as `90`, `90s`, `15m`, `24h`, `7d`, in seconds; `undefined` when absent. */
export function durationOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) {
    throw new CliError(
      EXIT.usage,
      `--${name} "${text}": expected a duration such as 90, 90s, 15m, 24h or 7d`,
    );
  }
  return Number(match[1]) * UNIT_SECONDS[match[2] || 's']!;
}

/** The one positional a verb needs, or a usage error naming it. */
export function requirePositional(verb: string, positionals: readonly string[], what: string): string {
  const value = positionals[0];
  if (value === undefined || value.trim() === '') throw new CliError(EXIT.usage, `${verb}: missing ${what}`);
  return value;
}
