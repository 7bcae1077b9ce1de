/**
 * What a capture is taken on, in one shape for the whole app: the alert classifier makes it, the ledger stores
 * it (`target`, `targetKind`, `instanceId`...), names, PUT bodies, leases and agent checks read it.
 */
export type CaptureTarget =
  | { kind: 'vm'; vmId: string; subscriptionId: string; resourceGroup: string; vmName: string }
  | {
      kind: 'vmssInstance';
      scaleSetId: string;
      instanceId: string;
      subscriptionId: string;
      resourceGroup: string;
      scaleSetName: string;
    };

/** The ARM id of the resource the target belongs to: the VM, or the scale set of an instance. */
export function targetResourceId(target: CaptureTarget): string {
  return target.kind === 'vm' ? target.vmId : target.scaleSetId;
}

/** The VM or scale set name, as people read it. */
export function targetName(target: CaptureTarget): string {
  return target.kind === 'vm' ? target.vmName : target.scaleSetName;
}

/** The machine itself: the VM id, or `{scaleSet}/virtualMachines/{instance}`. */
export function targetMachineId(target: CaptureTarget): string {
  return target.kind === 'vm' ? target.vmId : `${target.scaleSetId}/virtualMachines/${target.instanceId}`;
}

/**
 * The key that identifies a target in the ledger (leases): the lower-cased machine id. ARM ids are
 * case-insensitive, and two instances of one scale set are two targets.
 */
export function targetKeyOf(target: CaptureTarget): string {
  return targetMachineId(target).toLowerCase();
}

/** What a ledger record stores about its target (the fields {@link targetOfRecord} reads back). */
export interface StoredTarget {
  target: string;
  targetKind: 'vm' | 'vmssInstance';
  vmName: string;
  instanceId?: string;
  subscriptionId: string;
}

/** The target of a ledger record. */
export function targetOfRecord(record: StoredTarget): CaptureTarget {
  const resourceGroup = /\/resourceGroups\/([^/]+)/i.exec(record.target)?.[1] ?? '';
  return record.targetKind === 'vmssInstance' && record.instanceId !== undefined
    ? {
        kind: 'vmssInstance',
        scaleSetId: record.target,
        instanceId: record.instanceId,
        subscriptionId: record.subscriptionId,
        resourceGroup,
        scaleSetName: record.vmName,
      }
    : {
        kind: 'vm',
        vmId: record.target,
        subscriptionId: record.subscriptionId,
        resourceGroup,
        vmName: record.vmName,
      };
}
