import { errorMessage } from '../errors.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import { describeArmError } from '../azure/armErrors.js';
import { CliError, EXIT } from './exitCodes.js';
import { loadCliSettings } from './loadCliSettings.js';
import { write } from './output.js';
import { createVerbContext, type CliStreams, type RunCliOptions, type VerbContext } from './verbContext.js';
import { runDelete } from './verbs/delete.js';
import { runDoctor } from './verbs/doctor.js';
import { runDownload } from './verbs/download.js';
import { runList } from './verbs/list.js';
import { runReportCapture } from './verbs/reportCapture.js';
import { runRing } from './verbs/ring.js';
import { runShow } from './verbs/show.js';
import { runStart } from './verbs/start.js';
import { runStop } from './verbs/stop.js';
import { runSummarizeCapture } from './verbs/summarizeCapture.js';
import { runWait } from './verbs/wait.js';

type Verb = (args: readonly string[], ctx: VerbContext) => Promise<number>;

/** The operator verbs, each in its own file under `verbs/`. */
const VERBS: Record<string, Verb> = {
  list: runList,
  show: runShow,
  start: runStart,
  stop: runStop,
  delete: runDelete,
  wait: runWait,
  download: runDownload,
  doctor: runDoctor,
  ring: runRing,
  // `summarize <captureName|alertId>`; runCli sends only those here (a file stays with summarize itself).
  'summarize-capture': runSummarizeCapture,
  // `report <captureName|alertId>`, routed the same way (a file stays with report itself).
  'report-capture': runReportCapture,
};

/** Usage of the operator verbs (README, "Operator CLI", has an example of each). */
export const OPERATOR_USAGE = `Operator verbs (settings from the environment and ./local.settings.json Values):
  alert-capture list [--vm ID] [--state S] [--since 24h] [--all] [--subscription ID] [--json|--ndjson]
  alert-capture show <captureName|alertId> [--json]
  alert-capture start --vm ID [--instance N] [--duration S] [--total-bytes B] [--snaplen B]
                      [--filter SPEC]... [--filters-json JSON] [--wait] [--timeout S] [--json]
  alert-capture stop <name> [--wait] [--timeout S] [--force] [--json]
  alert-capture delete <name> [--purge-file] [--force] [--json]
  alert-capture wait <name|alertId> [--timeout S] [--json]
  alert-capture download <name|alertId> [-o PATH] [--json]
  alert-capture doctor --vm ID [--instance N] [--json]
  alert-capture ring list [--json]                          (VMs keeping a ring: tag, RING_VM_IDS)
  alert-capture ring enable|disable --vm ID [--json]        (sets/removes the ring tag; disable removes our ring)
  alert-capture summarize <captureName|alertId> [--json]   (the capture's file, straight from storage)
  alert-capture report <captureName|alertId> [-o PATH]      (its HTML report, from storage; default <name>.html)
  SPEC: protocol=TCP,remoteIPAddress=10.0.0.0-10.0.0.255,remotePort=443;8443

Exit codes: 0 done, 1 operation failed, 2 usage or invalid input, 3 not found, 4 refused (not ours without
--force, still running, outside ALLOWED_SCOPES, budget used up), 5 timed out, 6 capture ended in error.
`;

/** Whether `verb` is one of the operator verbs. */
export function isOperatorVerb(verb: string | undefined): boolean {
  return verb !== undefined && Object.hasOwn(VERBS, verb);
}

/**
 * Runs one operator verb and returns its exit code; prints its error on stderr. Never throws: every failure
 * maps to an exit code (README's table), ARM and storage errors to 1 with their message.
 */
export async function runOperatorVerb(
  verb: string,
  args: readonly string[],
  io: CliStreams,
  options: RunCliOptions = {},
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    await write(io.stdout, OPERATOR_USAGE);
    return EXIT.ok;
  }
  try {
    const settings = await loadCliSettings(options.env ?? {}, options.cwd ?? process.cwd());
    return await VERBS[verb]!(args, createVerbContext(io, settings, options));
  } catch (e) {
    const [code, message] =
      e instanceof CliError
        ? [e.exitCode, e.message]
        : e instanceof LedgerUnavailableError
          ? [EXIT.failed, `the capture ledger cannot be reached: ${errorMessage(e)}`]
          : [EXIT.failed, describeArmError(e)];
    await write(io.stderr, `alert-capture: ${message}\n`);
    return code;
  }
}
