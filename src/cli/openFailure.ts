import { errorMessage } from '../errors.js';

/** Exit code of a capture file that does not exist (the operator verbs' "not found"). */
export const EXIT_NO_SUCH_FILE = 3;
/** Exit code of a capture file that exists but cannot be read: invalid input. */
const EXIT_CANNOT_READ = 2;

/**
 * What `summarize` and `report` say when their input file cannot be opened: "no such file: PATH" (exit 3) for a
 * missing one, else "cannot read PATH: why" (exit 2), on one line.
 */
export function openFailure(file: string, e: unknown): { message: string; exitCode: number } {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR'
    ? { message: `alert-capture: no such file: ${file}\n`, exitCode: EXIT_NO_SUCH_FILE }
    : { message: `alert-capture: cannot read ${file}: ${errorMessage(e)}\n`, exitCode: EXIT_CANNOT_READ };
}
