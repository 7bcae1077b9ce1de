// Role assignments for the app's identity inside its own resource group: its storage (host, deployment, ledger),
// its telemetry, and the capture storage account. Names follow guid(scope.id, principalId, roleId).

@description('Principal id of the function app\'s system-assigned identity.')
param principalId string

@description('Name of the app\'s own storage account.')
param appStorageAccountName string

@description('Name of the capture storage account.')
param captureStorageAccountName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('GUID of the custom capture storage role (captureRoles.bicep).')
param captureStorageRoleGuid string

// Storage Blob Data Owner: host state and keys, and the Flex deployment container.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Table Data Contributor: the capture ledger table.
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Monitoring Metrics Publisher: Entra ID-authenticated telemetry to Application Insights.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
// Storage Blob Data Reader: the poller reads finished capture files to summarise them (and may sign a
// user-delegation SAS link) with its identity, never with the account key.
var storageBlobDataReaderRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

// No queue role: the app has only HTTP and timer triggers, and the host uses blobs (keys, timer leases) only;
// queues are needed for blob or queue triggers, which the app does not have.
var appStorageRoleIds = [
  storageBlobDataOwnerRoleId
  storageTableDataContributorRoleId
]

resource appStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: appStorageAccountName
}

resource captureStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureStorageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource appStorageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in appStorageRoleIds: {
    name: guid(appStorage.id, principalId, roleId)
    scope: appStorage
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
  }
}

// The storage key/SAS actions are granted on the capture account only, never at the monitored scopes.
resource captureStorageRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(captureStorage.id, principalId, captureStorageRoleGuid)
  scope: captureStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', captureStorageRoleGuid)
  }
}

resource captureBlobReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(captureStorage.id, principalId, storageBlobDataReaderRoleId)
  scope: captureStorage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReaderRoleId)
  }
}
