// The two custom roles the app's identity gets, with exactly the actions a Network Watcher packet capture needs.
// Split in two so the storage key/SAS actions can be granted on the capture account alone while the network and
// compute actions are granted at the monitored scopes. No built-in Contributor/Owner role is used anywhere.
targetScope = 'subscription'

@description('Environment name; makes the role names unique in the tenant.')
param environmentName string

@description('Add Microsoft.Compute/virtualMachines/extensions/write so the app can install the Network Watcher agent.')
param autoInstallAgent bool

@description('Scopes where the capture operator role may be assigned: the monitored scopes and the Network Watcher resource groups.')
param operatorAssignableScopes array

// Network Watcher: find the regional watcher, then create, query, stop and delete captures under it.
// Compute: resolve the VM (or VMSS instance) and check that the Network Watcher agent is installed.
var baseOperatorActions = [
  'Microsoft.Network/networkWatchers/read'
  'Microsoft.Network/networkWatchers/packetCaptures/read'
  'Microsoft.Network/networkWatchers/packetCaptures/write'
  'Microsoft.Network/networkWatchers/packetCaptures/delete'
  'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action'
  'Microsoft.Network/networkWatchers/packetCaptures/stop/action'
  'Microsoft.Compute/virtualMachines/read'
  'Microsoft.Compute/virtualMachines/extensions/read'
  'Microsoft.Compute/virtualMachineScaleSets/read'
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read'
]

// Installing the Network Watcher agent on a VM that lacks it: granted only when the app is told to do it.
var autoInstallActions = [
  'Microsoft.Compute/virtualMachines/extensions/write'
]

var operatorActions = autoInstallAgent ? concat(baseOperatorActions, autoInstallActions) : baseOperatorActions

// Creating a capture makes Network Watcher fetch the target account's keys / a SAS on the caller's behalf.
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
    description: 'Start, follow, stop and delete Network Watcher packet captures on VMs; read VMs, scale sets and their extensions.'
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

output captureOperatorRoleGuid string = captureOperatorRole.name
output captureOperatorRoleId string = captureOperatorRole.id
output captureStorageRoleGuid string = captureStorageRole.name
