// The function app's own storage account: host state (AzureWebJobsStorage), the Flex deployment container and the
// capture ledger table. Reached only with the app's managed identity: shared keys are off.

@description('Region of the storage account.')
param location string

@description('Tags applied to every resource.')
param tags object

@minLength(3)
@maxLength(24)
@description('Name of the storage account (3-24 lower-case letters and digits).')
param storageAccountName string

@description('Blob container the Flex Consumption platform deploys the app package from.')
param deploymentContainerName string

@description('Name of the capture ledger table (LEDGER_TABLE_NAME).')
param ledgerTableName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Identity only: the host, the deployment and the ledger all use the app's managed identity.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource ledgerTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: ledgerTableName
}

output name string = storage.name
output deploymentContainerName string = deploymentContainer.name
output ledgerTableName string = ledgerTable.name
