import { isVirtualMachineId, isWithinAnyScope, parseResourceId, sameResourceId } from '../../azure/armId.js';
import { armStatus, describeArmError } from '../../azure/armErrors.js';
import type { AppContext } from '../../appContext.js';
import { ringRearmAfterSeconds } from '../../captures/ringCaptureParameters.js';
import type { CaptureRecord, CaptureState } from '../../ledger/captureRecord.js';
import type { RingHead } from '../../ledger/RingHeads.js';
import { stripQuery } from '../../redact.js';
import { disableRing } from '../../rings/disableRing.js';
import { discoverRingVms, type IncompleteScope, type RingVmSource } from '../../rings/discoverRingVms.js';
import { CliError, EXIT } from '../exitCodes.js';
import { formatJson, formatTable, formatTime, write } from '../output.js';
import { parseVerbArgs } from '../parseVerbArgs.js';
import type { VerbContext } from '../verbContext.js';

/** Deadline of one ARM or ledger step of a `ring` verb. */
const STEP_TIME_LIMIT_IN_MS = 30_000;

/** One VM's ring as `ring list` shows it. */
export interface RingView {
  vmId: string;
  vmName: string;
  /** Why it has a ring: its tag, `RING_VM_IDS`; empty when it no longer wants one (the poller removes it). */
  sources: RingVmSource[];
  /** The newest generation armed; absent before the poller armed the first one. */
  generation?: number;
  captureName?: string;
  /** The newest generation's ledger state; absent before the poller armed the first one. */
  state?: CaptureState;
  startedAt?: string;
  /** When the poller arms the next generation (before the session limit). */
  rearmAt?: string;
  /** Why it is not running (budget used up, agent missing...), in the ledger's words. */
  reason?: string;
  /** Where its files go, as ARM reported it (no query string). */
  storagePath?: string;
}

/** The `--json` output of `ring list`. */
export interface RingListOutput {
  rings: RingView[];
  /** Storage one ring holds at most: RING_FILE_COUNT × RING_FILE_SIZE_BYTES. */
  ringBytesBound: number;
  /** Scopes whose tagged VMs could not all be listed: a ring VM of theirs may be missing above. */
  incompleteScopes: IncompleteScope[];
  /** Tagged or listed VMs left without a ring by RING_MAX_VMS. */
  leftOut: number;
}

/** The `--json` output of `ring enable` and `ring disable`. */
export interface RingChangeOutput {
  vmId: string;
  /** `enable`: the tag was set (`tagged`) or was there already (`alreadyTagged`); `disable`: the tag was removed or absent. */
  tag: 'tagged' | 'alreadyTagged' | 'removed' | 'absent';
  /** `disable`: our ring captures whose delete was accepted (their files stay in storage until the retention). */
  deleted?: string[];
  /** `disable`: our ring captures the poller deletes on a later tick (ARM refused for now). */
  left?: string[];
}

const SUBVERBS = ['list', 'enable', 'disable'] as const;

/**
 * `ring list [--json]`, `ring enable --vm ID [--json]`, `ring disable --vm ID [--json]`: the standing ring captures
 * (README "Rings"). A VM opts in by its tag (`RING_TAG_NAME`=`RING_TAG_VALUE`) or by `RING_VM_IDS`; `enable` and
 * `disable` set and remove the tag with the caller's own credentials (Tag Contributor on the VM), and `disable`
 * removes our ring at once (only ours: a person's or an alert's capture on the VM stays).
 */
export async function runRing(args: readonly string[], ctx: VerbContext): Promise<number> {
  const [subverb, ...rest] = args;
  switch (subverb) {
    case 'list':
      return ringList(rest, ctx);
    case 'enable':
      return ringEnable(rest, ctx);
    case 'disable':
      return ringDisable(rest, ctx);
    default:
      throw new CliError(
        EXIT.usage,
        subverb === undefined
          ? `ring: missing what to do (${SUBVERBS.join(', ')})`
          : `ring: unknown "${subverb}": expected one of ${SUBVERBS.join(', ')}`,
      );
  }
}

async function ringList(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values } = parseVerbArgs('ring list', args, { json: { type: 'boolean' } }, 0);
  const app = await ctx.ready();
  const { config } = app;
  const [discovery, heads] = await Promise.all([
    discoverRingVms(config, app.ringTags, { abortSignal: AbortSignal.timeout(STEP_TIME_LIMIT_IN_MS) }),
    app.ledger.rings.list(),
  ]);
  const views = new Map<string, RingView>();
  for (const vm of discovery.vms) {
    views.set(vm.id.toLowerCase(), { vmId: vm.id, vmName: vm.name, sources: vm.sources });
  }
  await Promise.all(
    heads.map(async (head) => {
      const newest = head.alertIds[0] === undefined ? undefined : await app.ledger.get(head.alertIds[0]);
      const key = head.vmId.toLowerCase();
      const base = views.get(key) ?? { vmId: head.vmId, vmName: head.vmName, sources: [] };
      views.set(key, { ...base, ...viewOfGeneration(head, newest, app) });
    }),
  );
  const output: RingListOutput = {
    rings: [...views.values()].sort((a, b) => a.vmId.toLowerCase().localeCompare(b.vmId.toLowerCase())),
    ringBytesBound: config.ring.fileCount * config.ring.fileSizeInBytes,
    incompleteScopes: discovery.incompleteScopes,
    leftOut: discovery.leftOut,
  };
  await write(ctx.io.stdout, values.json ? formatJson(output) : formatRingList(output));
  return EXIT.ok;
}

function viewOfGeneration(
  head: RingHead,
  record: CaptureRecord | undefined,
  app: AppContext,
): Partial<RingView> {
  const view: Partial<RingView> = { generation: head.generation };
  if (!record) return view;
  const startedMs = record.startedAt === undefined ? undefined : Date.parse(record.startedAt);
  const rearmSeconds = ringRearmAfterSeconds(app.config.ring);
  return {
    ...view,
    captureName: record.captureName,
    state: record.state,
    ...(record.startedAt ? { startedAt: record.startedAt } : {}),
    ...(startedMs !== undefined && record.state === 'running'
      ? { rearmAt: new Date(startedMs + rearmSeconds * 1000).toISOString() }
      : {}),
    ...(record.state !== 'running' && (record.lastError ?? record.reason)
      ? { reason: record.lastError ?? record.reason }
      : {}),
    ...(record.storagePath ? { storagePath: stripQuery(record.storagePath) } : {}),
  };
}

function formatRingList(output: RingListOutput): string {
  const lines: string[] = [];
  if (output.rings.length === 0) {
    lines.push(
      'no ring VMs (tag a VM with `alert-capture ring enable --vm ID`, or list it in RING_VM_IDS)\n',
    );
  } else {
    lines.push(
      formatTable(output.rings, [
        { heading: 'VM', value: (r) => r.vmName },
        { heading: 'BY', value: (r) => (r.sources.length ? r.sources.join('+') : 'no longer wanted') },
        { heading: 'GEN', value: (r) => (r.generation === undefined ? '' : String(r.generation)) },
        { heading: 'STATE', value: (r) => r.state ?? 'not armed yet' },
        { heading: 'SINCE', value: (r) => formatTime(r.startedAt) },
        { heading: 'RE-ARM', value: (r) => formatTime(r.rearmAt) },
        { heading: 'NOTE', value: (r) => r.reason ?? '' },
      ]),
    );
  }
  lines.push(`each ring holds at most ${formatBytes(output.ringBytesBound)} in storage\n`);
  for (const scope of output.incompleteScopes) {
    lines.push(
      `warning: ${scope.scope} could not be listed (${scope.reason}); its ring VMs may be missing\n`,
    );
  }
  if (output.leftOut > 0) {
    lines.push(`warning: ${output.leftOut} more VMs want a ring beyond RING_MAX_VMS\n`);
  }
  return lines.join('');
}

/** The VM a `ring enable|disable` acts on: a VM id inside ALLOWED_SCOPES (usage error 2, refused 4). */
function parseRingVm(verb: string, app: AppContext, vm: unknown): string {
  if (typeof vm !== 'string' || vm.trim() === '') throw new CliError(EXIT.usage, `${verb}: missing --vm ID`);
  if (!isVirtualMachineId(vm)) {
    throw new CliError(
      EXIT.usage,
      `${verb}: --vm "${vm}": expected a VM resource id (/subscriptions/…/providers/Microsoft.Compute/virtualMachines/NAME); scale sets keep no ring`,
    );
  }
  if (!isWithinAnyScope(vm, app.config.allowedScopes)) {
    throw new CliError(
      EXIT.refused,
      `${verb}: ${vm} is outside ALLOWED_SCOPES (${app.config.allowedScopes.join(', ')})`,
    );
  }
  return vm;
}

/** The arguments of `ring enable|disable`: the VM (checked) and `--json`. */
async function ringChangeArgs(
  verb: string,
  args: readonly string[],
  ctx: VerbContext,
): Promise<{ app: AppContext; vmId: string; json: boolean }> {
  const { values } = parseVerbArgs(verb, args, { vm: { type: 'string' }, json: { type: 'boolean' } }, 0);
  const app = await ctx.ready();
  return { app, vmId: parseRingVm(verb, app, values.vm), json: Boolean(values.json) };
}

async function ringEnable(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { app, vmId, json } = await ringChangeArgs('ring enable', args, ctx);
  const tag = { name: app.config.ring.tagName, value: app.config.ring.tagValue };
  const tags = await readTags('ring enable', app, vmId);
  const already = Object.entries(tags).some(
    ([name, value]) => name.toLowerCase() === tag.name.toLowerCase() && value === tag.value,
  );
  if (!already) {
    try {
      await app.ringTags.setTag(vmId, tag, { abortSignal: AbortSignal.timeout(STEP_TIME_LIMIT_IN_MS) });
    } catch (e) {
      throw new CliError(EXIT.failed, `ring enable: cannot tag ${vmId}: ${tagWriteFailure(e)}`);
    }
  }
  await app.ledger.rings.markChanged();
  const output: RingChangeOutput = { vmId, tag: already ? 'alreadyTagged' : 'tagged' };
  await write(
    ctx.io.stdout,
    json
      ? formatJson(output)
      : `${already ? 'already tagged' : 'tagged'} ${nameOf(vmId)} ${tag.name}=${tag.value}; the poller arms its ring at its next listing of the ring tags (within RING_DISCOVERY_SECONDS, ${app.config.ring.discoverySeconds} s)\n`,
  );
  return EXIT.ok;
}

async function ringDisable(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { app, vmId, json } = await ringChangeArgs('ring disable', args, ctx);
  if (app.config.ring.vmIds.some((id) => sameResourceId(id, vmId))) {
    throw new CliError(
      EXIT.refused,
      `ring disable: ${nameOf(vmId)} is listed in RING_VM_IDS; remove it from that setting to end its ring`,
    );
  }
  const tags = await readTags('ring disable', app, vmId);
  const tagged = Object.keys(tags).some(
    (name) => name.toLowerCase() === app.config.ring.tagName.toLowerCase(),
  );
  const head = await app.ledger.rings.get(vmId);
  if (!tagged && !head) {
    throw new CliError(
      EXIT.notFound,
      `ring disable: ${nameOf(vmId)} has no ring and no ${app.config.ring.tagName} tag`,
    );
  }
  if (tagged) {
    try {
      await app.ringTags.removeTag(vmId, app.config.ring.tagName, {
        abortSignal: AbortSignal.timeout(STEP_TIME_LIMIT_IN_MS),
      });
    } catch (e) {
      throw new CliError(
        EXIT.failed,
        `ring disable: cannot remove the tag of ${vmId}: ${tagWriteFailure(e)}`,
      );
    }
  }
  // Before the ring goes: a poller that still has the tag in its cached listing looks again instead of re-arming.
  await app.ledger.rings.markChanged();
  const removed = await disableRing(vmId, app, { abortSignal: AbortSignal.timeout(STEP_TIME_LIMIT_IN_MS) });
  const output: RingChangeOutput = {
    vmId,
    tag: tagged ? 'removed' : 'absent',
    deleted: removed.deleted,
    left: removed.left,
  };
  const said = [
    tagged ? `removed the ${app.config.ring.tagName} tag of ${nameOf(vmId)}` : `${nameOf(vmId)} had no tag`,
    removed.deleted.length ? `deleted ${removed.deleted.join(', ')} (its files stay in storage)` : undefined,
    removed.left.length ? `the poller deletes ${removed.left.join(', ')} on a later tick` : undefined,
  ].filter(Boolean);
  await write(ctx.io.stdout, json ? formatJson(output) : `${said.join('; ')}\n`);
  return EXIT.ok;
}

async function readTags(verb: string, app: AppContext, vmId: string): Promise<Record<string, string>> {
  try {
    return await app.ringTags.getTags(vmId, { abortSignal: AbortSignal.timeout(STEP_TIME_LIMIT_IN_MS) });
  } catch (e) {
    if (armStatus(e) === 404) throw new CliError(EXIT.notFound, `${verb}: ${vmId} not found`);
    throw new CliError(EXIT.failed, `${verb}: cannot read the tags of ${vmId}: ${describeArmError(e)}`);
  }
}

/** ARM's refusal, with the role a person needs when it is one of permissions. */
function tagWriteFailure(e: unknown): string {
  const text = describeArmError(e);
  return armStatus(e) === 403
    ? `${text} (setting a tag needs Tag Contributor, or Microsoft.Resources/tags/write, on the VM)`
    : text;
}

function nameOf(vmId: string): string {
  return parseResourceId(vmId)?.name ?? vmId;
}

function formatBytes(bytes: number): string {
  const mib = bytes / 1_048_576;
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`;
}
