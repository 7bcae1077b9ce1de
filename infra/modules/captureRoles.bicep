// The three custom roles the app's identity gets, with exactly the actions a Network Watcher packet capture needs.
// Split so the storage key/SAS actions can be granted on the capture account alone, the network and compute actions
// at the monitored scopes, and the operation reads at the monitored subscriptions. No built-in Contributor/Owner role is used anywhere.
targetScope = 'subscription'

@description('Environment name; makes the role names unique in the tenant.')
param environmentName string

@description('Add Microsoft.Compute/virtualMachines/extensions/write so the app can install the Network Watcher agent.')
param autoInstallAgent bool

@description('Scopes where the capture operator role may be assigned: the monitored scopes and the Network Watcher resource groups.')
param operatorAssignableScopes array

@description('Subscription ids (/subscriptions/<id>) where the operation reader role is assigned: every monitored subscription, including those monitored only through resource groups.')
param operationsAssignableScopes array

// Each action is here for a call src/azure/networkWatcherGateway.ts makes (test/unit/infra/roles.test.ts lists them);
// https://learn.microsoft.com/azure/network-watcher/required-rbac-permissions#packet-capture lists the capture ones.
var baseOperatorActions = [
  // networkWatchers.listAll (listWatchers) and networkWatchers.get (findWatcher by its default name).
  'Microsoft.Network/networkWatchers/read'
  // packetCaptures.list (listCaptures) and packetCaptures.get (getCapture: target and storage path).
  'Microsoft.Network/networkWatchers/packetCaptures/read'
  // The capture PUT (createCapture).
  'Microsoft.Network/networkWatchers/packetCaptures/write'
  // packetCaptures.beginDeleteAndWait (deleteCapture, once notified).
  'Microsoft.Network/networkWatchers/packetCaptures/delete'
  // packetCaptures.beginGetStatusAndWait (getCaptureStatus).
  'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action'
  // packetCaptures.beginStopAndWait (stopCapture: resolved alerts, stuck captures).
  'Microsoft.Network/networkWatchers/packetCaptures/stop/action'
  // resources.getById on a VM (getLocation; installAgent reads its OS type).
  'Microsoft.Compute/virtualMachines/read'
  // GET {vm}/extensions (getAgent: the Network Watcher agent under whatever name it was installed).
  'Microsoft.Compute/virtualMachines/extensions/read'
  // resources.getById on a scale set (getLocation of a scale-set target).
  'Microsoft.Compute/virtualMachineScaleSets/read'
  // GET {scale set}/extensions (getAgent of a scale-set instance: the agent is in the scale set's model).
  'Microsoft.Compute/virtualMachineScaleSets/extensions/read'
  // resources.list with the ring tag filter (listTaggedResources of a monitored subscription: which VMs want a ring).
  'Microsoft.Resources/subscriptions/resources/read'
  // resources.listByResourceGroup with the ring tag filter (listTaggedResources of a monitored resource group).
  'Microsoft.Resources/subscriptions/resourceGroups/resources/read'
]
// No tag write: `alert-capture ring enable|disable` sets the ring tag with the person's own credentials (Tag
// Contributor, or Microsoft.Resources/tags/write), never with the app's identity.

// Installing the Network Watcher agent on a VM that lacks it (installAgent's PUT): granted only when the app is
// told to do it.
var autoInstallActions = [
  'Microsoft.Compute/virtualMachines/extensions/write'
]

// queryStatus, stop and delete are long-running: the SDK polls their Azure-AsyncOperation
// (/subscriptions/{id}/providers/Microsoft.Network/locations/{region}/operations/{id}) and Location
// (.../locations/{region}/operationResults/{id}) URLs. Those live at subscription scope, outside any resource
// group, so this role is assigned on every monitored subscription; it grants nothing else.
var baseOperationActions = [
  'Microsoft.Network/locations/operations/read'
  'Microsoft.Network/locations/operationResults/read'
]

// installAgent's extension PUT: the SDK polls its Compute operation once before returning.
var autoInstallOperationActions = [
  'Microsoft.Compute/locations/operations/read'
]

var operationActions = autoInstallAgent ? concat(baseOperationActions, autoInstallOperationActions) : baseOperationActions

var operatorActions = autoInstallAgent ? concat(baseOperatorActions, autoInstallActions) : baseOperatorActions

// Creating a capture makes Network Watcher read the target account and fetch its keys / a SAS on the caller's behalf
// ("Additional actions" of the page above): checked on the capture PUT's storageId, never called by the app itself.
var captureStorageActions = [
  'Microsoft.Storage/storageAccounts/read'
  'Microsoft.Storage/storageAccounts/listKeys/action'
  'Microsoft.Storage/storageAccounts/listServiceSas/action'
  'Microsoft.Storage/storageAccounts/listAccountSas/action'
]

resource captureOperatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'alert-capture-operator')
  properties: {
    roleName: 'alert-capture packet capture operator (${environmentName})'
    description: 'Start, follow, stop and delete Network Watcher packet captures on VMs; read VMs, scale sets and their extensions; list the resources carrying the ring tag.'
    type: 'CustomRole'
    permissions: [
      {
        actions: operatorActions
        notActions: []
      }
    ]
    assignableScopes: operatorAssignableScopes
  }
}

resource captureStorageRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'alert-capture-storage')
  properties: {
    roleName: 'alert-capture capture storage (${environmentName})'
    description: 'Let Network Watcher obtain keys or a SAS for the capture storage account when a capture starts.'
    type: 'CustomRole'
    permissions: [
      {
        actions: captureStorageActions
        notActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource captureOperationsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'alert-capture-operations')
  properties: {
    roleName: 'alert-capture operation reader (${environmentName})'
    description: 'Follow the long-running Network Watcher operations (status, stop, delete) the app starts.'
    type: 'CustomRole'
    permissions: [
      {
        actions: operationActions
        notActions: []
      }
    ]
    assignableScopes: operationsAssignableScopes
  }
}

output captureOperatorRoleGuid string = captureOperatorRole.name
output captureOperatorRoleId string = captureOperatorRole.id
output captureStorageRoleGuid string = captureStorageRole.name
output captureOperationsRoleGuid string = captureOperationsRole.name
