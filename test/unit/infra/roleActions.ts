/**
 * Every action of the custom roles in infra/modules/captureRoles.bicep, with the call in the code that needs it.
 * The role tests hold the Bicep to exactly this list; the RBAC integration test derives the actions of the ARM
 * requests the app really makes against the emulator and holds them to it too.
 *
 * Sources: https://learn.microsoft.com/azure/network-watcher/required-rbac-permissions (packet capture, and the
 * storage actions Network Watcher uses on the caller's behalf), and the Microsoft.Network / Microsoft.Compute /
 * Microsoft.Resources operation lists (https://learn.microsoft.com/azure/role-based-access-control/permissions/networking,
 * .../compute, .../management-and-governance).
 *
 * Not granted on purpose: `Microsoft.Resources/tags/read|write` (the CLI's `ring enable|disable` tags a VM with
 * the person's own credentials) and `Microsoft.Resources/subscriptions/read` (Subscriptions - List, used only with
 * `ALLOWED_SCOPES=*`, which the Bicep does not deploy; ARM lists the subscriptions the caller holds any role on).
 */
export interface RoleAction {
  role: 'captureOperatorRole' | 'captureOperationsRole' | 'captureStorageRole';
  action: string;
  /** The call in src/azure/networkWatcherGateway.ts (or the platform's, on our behalf) that needs it. */
  call: string;
  /** Text of that call in the gateway's source; absent when ARM checks it on our behalf (no call of ours). */
  source?: RegExp;
  /** Granted only with autoInstallAgent. */
  autoInstallOnly?: boolean;
  /**
   * Why the emulator's requests do not show it (then the RBAC integration test cannot hold it to a request).
   */
  notSeenInEmulator?: string;
}

export const ROLE_ACTIONS: readonly RoleAction[] = [
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Network/networkWatchers/read',
    call: 'networkWatchers.listAll (listWatchers), networkWatchers.get (findWatcher by its default name)',
    source: /networkWatchers\.listAll\(|networkWatchers\.get\(/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Network/networkWatchers/packetCaptures/read',
    call: 'packetCaptures.list (listCaptures), packetCaptures.get (getCapture)',
    source: /packetCaptures\.list\(|packetCaptures\.get\(/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Network/networkWatchers/packetCaptures/write',
    call: 'the capture PUT (createCapture)',
    source: /method: 'PUT'|'PUT',/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Network/networkWatchers/packetCaptures/delete',
    call: 'packetCaptures.beginDeleteAndWait (deleteCapture)',
    source: /'beginDeleteAndWait'|'DELETE',/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action',
    call: 'packetCaptures.beginGetStatusAndWait (getCaptureStatus)',
    source: /beginGetStatusAndWait\(|'\/queryStatus'/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Network/networkWatchers/packetCaptures/stop/action',
    call: 'packetCaptures.beginStopAndWait (stopCapture)',
    source: /'beginStopAndWait'|'\/stop'/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Compute/virtualMachines/read',
    call: 'resources.getById on the VM (getLocation; installAgent reads its OS type)',
    source: /resources\.getById\(\s*resourceId|resources\.getById\(vmId/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Compute/virtualMachines/extensions/read',
    call: 'GET {vm}/extensions: the agent under any extension name (getAgent)',
    source: /getById\(\s*`\$\{vmId\}\/extensions\/|\/extensions\?api-version/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Compute/virtualMachineScaleSets/read',
    call: 'resources.getById on a scale set (getLocation of a scale-set target)',
    source: /resources\.getById\(\s*resourceId/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Compute/virtualMachineScaleSets/extensions/read',
    call: "GET {scale set}/extensions: the agent in the scale set's model (getAgent of an instance)",
    source: /\/extensions\?api-version/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Resources/subscriptions/resources/read',
    call: 'resources.list with the ring tag filter (listTaggedResources of a subscription scope: discoverRingVms)',
    source: /resources\.list\(/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Resources/subscriptions/resourceGroups/resources/read',
    call: 'resources.listByResourceGroup with the ring tag filter (listTaggedResources of a resource-group scope)',
    source: /resources\.listByResourceGroup\(/,
  },
  {
    role: 'captureOperatorRole',
    action: 'Microsoft.Compute/virtualMachines/extensions/write',
    call: 'resources.beginCreateOrUpdateById on the agent extension (installAgent)',
    source: /beginCreateOrUpdateById\(/,
    autoInstallOnly: true,
  },
  {
    role: 'captureOperationsRole',
    action: 'Microsoft.Network/locations/operations/read',
    call: 'the SDK polling the Azure-AsyncOperation URL of queryStatus, stop and delete',
    source: /AndWait\(|AndWait'|readOperation\(/,
    notSeenInEmulator:
      'the emulator answers queryStatus, stop and delete with a Location header only; Azure also sends Azure-AsyncOperation (.../providers/Microsoft.Network/locations/{region}/operations/{id}), which the SDK prefers',
  },
  {
    role: 'captureOperationsRole',
    action: 'Microsoft.Network/locations/operationResults/read',
    call: 'the SDK polling the Location URL of queryStatus, stop and delete',
    source: /AndWait\(|AndWait'|readStatusOperation\(/,
  },
  {
    role: 'captureOperationsRole',
    action: 'Microsoft.Compute/locations/operations/read',
    call: 'the SDK polling the Azure-AsyncOperation URL of the agent extension PUT (installAgent)',
    source: /beginCreateOrUpdateById\(/,
    autoInstallOnly: true,
  },
  {
    role: 'captureStorageRole',
    action: 'Microsoft.Storage/storageAccounts/read',
    call: "ARM resolving the capture PUT's storageId (on our behalf)",
  },
  {
    role: 'captureStorageRole',
    action: 'Microsoft.Storage/storageAccounts/listKeys/action',
    call: 'Network Watcher writing the file with the account key (on our behalf, at the capture PUT)',
  },
  {
    role: 'captureStorageRole',
    action: 'Microsoft.Storage/storageAccounts/listServiceSas/action',
    call: 'Network Watcher getting a service SAS to write the file (on our behalf, at the capture PUT)',
  },
  {
    role: 'captureStorageRole',
    action: 'Microsoft.Storage/storageAccounts/listAccountSas/action',
    call: 'Network Watcher getting an account SAS to write the file (on our behalf, at the capture PUT)',
  },
];
