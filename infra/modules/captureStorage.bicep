// The storage account Network Watcher writes capture files to (CAPTURE_STORAGE_ACCOUNT_ID). Kept apart from the
// app's own account because it must allow shared keys (see below) and has its own retention.

@description('Region of the storage account.')
param location string

@description('Tags applied to every resource.')
param tags object

@minLength(3)
@maxLength(24)
@description('Name of the storage account (3-24 lower-case letters and digits).')
param storageAccountName string

@minValue(1)
@maxValue(3650)
@description('Days after their last modification at which capture files are deleted.')
param retentionDays int

// Network Watcher always writes capture files here; the name is fixed by the service.
var captureContainerName = 'network-watcher-logs'
// The container infra/modules/reportStorage.bicep makes for the poller's reports (src/report/CaptureReports.ts).
var reportContainerName = 'capture-reports'
// The container reportStorage.bicep makes for the ring files an alert keeps (src/captures/keepRingFiles.ts).
var keptContainerName = 'capture-kept'

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
    // Shared keys stay on: when a packet capture starts, Network Watcher obtains the account's keys / a SAS
    // (listKeys, listServiceSas, listAccountSas on behalf of the caller) and its agent uploads the file with them;
    // it has no identity-based path. That is why this account is separate from the app's and why the custom role
    // grants those list actions on this account only. The app itself reads the files with its identity.
    allowSharedKeyAccess: true
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

resource captureContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: captureContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-old-captures'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              // The reports the poller writes next to each capture, and the ring files an alert kept (its "before"),
              // go with the capture's file (same retention).
              prefixMatch: [
                '${captureContainerName}/'
                '${reportContainerName}/'
                '${keptContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    captureContainer
  ]
}

output id string = storage.id
output name string = storage.name
output containerName string = captureContainer.name
