/**
 * The operator verbs' exit codes (README, "Operator CLI"), one meaning each so scripts can branch on them.
 * `summarize` keeps its own 0/1/2 (see `runCli.ts`), which agree with this table.
 */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The operation failed (ARM or storage refused or broke, a download was not a capture file). */
  failed: 1,
  /** Usage error or invalid input (unknown verb or option, bad filter, bad settings). */
  usage: 2,
  /** No such capture, alert, VM or file. */
  notFound: 3,
  /** Refused: not our capture (without `--force`), still running, outside ALLOWED_SCOPES, budget used up. */
  refused: 4,
  /** `--timeout` passed before the capture ended. */
  timedOut: 5,
  /** The capture ended in Error (or its create failed). */
  captureError: 6,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A verb's failure with the exit code it maps to; the message is printed on stderr as is. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}
