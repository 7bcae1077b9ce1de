// The container the app writes capture reports to (src/report/CaptureReports.ts), next to Network Watcher's
// capture files in the capture account, and the app's only write access there: Storage Blob Data Contributor on
// this one container. Reading the capture files and signing read links stay with the account-wide
// Storage Blob Data Reader of appRbac.bicep.

@description('Name of the capture storage account (captureStorage.bicep).')
param captureStorageAccountName string

@description('Object id of the function app\'s managed identity.')
param principalId string

// The app reads and writes this container by that name (REPORT_CONTAINER in src/report/CaptureReports.ts).
var reportContainerName = 'capture-reports'

// Storage Blob Data Contributor: the poller writes each finished capture's report once.
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource captureStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: captureStorageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: captureStorage
  name: 'default'
}

resource reportContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: reportContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource reportWriterAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(reportContainer.id, principalId, storageBlobDataContributorRoleId)
  scope: reportContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
  }
}

// Ring-buffer files kept for an alert (src/captures/keepRingFiles.ts, KEPT_CONTAINER), copied server-side from
// network-watcher-logs before rotation deletes them: the same container-scoped write role, so Network Watcher's
// own container stays read-only to the app.
var keptContainerName = 'capture-kept'

resource keptContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: keptContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource keptWriterAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keptContainer.id, principalId, storageBlobDataContributorRoleId)
  scope: keptContainer
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
  }
}

output containerName string = reportContainer.name
