// Assigns the capture operator role on a whole monitored subscription (its Network Watcher resource group included).
targetScope = 'subscription'

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

@description('GUID of the custom capture operator role (captureRoles.bicep).')
param roleGuid string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleGuid)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    // Resolved in this subscription: a custom role is one tenant-wide object, reachable from any of its
    // assignable scopes.
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)
  }
}
