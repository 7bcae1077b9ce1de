// The function app: Flex Consumption (FC1), Node.js 22, v4 programming model, system-assigned identity.
// Every app setting below is one the settings schema (src/config.ts) knows, or one the platform owns.

@description('Region of the plan and the app.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app; its default host name serves the alert webhook.')
param functionAppName string

@description('Name of the app\'s own storage account (host state, deployment package, ledger).')
param storageAccountName string

@description('Blob container in that account the platform deploys the package from.')
param deploymentContainerName string

@description('Name of the Application Insights component the app reports to.')
param applicationInsightsName string

@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out limit.')
param maximumInstanceCount int

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption instance memory size in MB.')
param instanceMemoryMB int

@description('Resource id of the capture storage account (CAPTURE_STORAGE_ACCOUNT_ID).')
param captureStorageAccountId string

@description('Comma-separated subscription or resource-group ids whose VMs may be captured (ALLOWED_SCOPES).')
param allowedScopes string

@description('Azure Resource Manager endpoint of this cloud, without a trailing slash (ARM_ENDPOINT).')
param armEndpoint string

@description('Name of the ledger table (LEDGER_TABLE_NAME).')
param ledgerTableName string

@description('Storage DNS suffix of this cloud, environment().suffixes.storage (STORAGE_ENDPOINT_SUFFIX): capture files are read only there.')
param storageEndpointSuffix string

@description('Resource group of the regional Network Watchers, the one the operator role is assigned on (NETWORK_WATCHER_RESOURCE_GROUP).')
param networkWatcherResourceGroupName string

@description('Install the Network Watcher agent on VMs that lack it (AUTO_INSTALL_AGENT).')
param autoInstallAgent bool

@description('Stop a running capture when its alert resolves (STOP_ON_RESOLVE).')
param stopOnResolve bool

@description('Prefix of the capture names the app owns (CAPTURE_NAME_PREFIX).')
param captureNamePrefix string

@description('Default capture duration in seconds (CAPTURE_TIME_LIMIT_SECONDS).')
param captureTimeLimitSeconds int

@description('Longest capture an alert rule may ask for, in seconds (CAPTURE_MAX_TIME_LIMIT_SECONDS).')
param captureMaxTimeLimitSeconds int

@description('Maximum bytes per capture session (CAPTURE_TOTAL_BYTES).')
param captureTotalBytes int

@description('Captures per subscription and region at once (CAPTURE_SESSION_BUDGET).')
param captureSessionBudget int

@description('Default capture filters, a JSON array (CAPTURE_FILTERS).')
param captureFilters string

@description('NCRONTAB schedule of the poller (CAPTURE_POLL_SCHEDULE).')
param capturePollSchedule string

@secure()
@description('Generic JSON notification webhook (NOTIFY_WEBHOOK_URL); empty means unset.')
param notifyWebhookUrl string

@secure()
@description('Teams incoming webhook (NOTIFY_TEAMS_WEBHOOK_URL); empty means unset.')
param notifyTeamsWebhookUrl string

@secure()
@description('Slack incoming webhook (NOTIFY_SLACK_WEBHOOK_URL); empty means unset.')
param notifySlackWebhookUrl string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// azd finds the app to deploy the `api` service to by this tag.
var appTags = union(tags, {
  'azd-service-name': 'api'
})

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: appTags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      // Flex Consumption sets FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION itself (functionAppConfig)
      // and rejects them as app settings.
      appSettings: [
        // Host storage through the managed identity: no connection string, no key.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsights.properties.ConnectionString
        }
        // The component has local auth disabled: telemetry is sent with the app's Entra ID token.
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'Authorization=AAD'
        }
        {
          name: 'CAPTURE_STORAGE_ACCOUNT_ID'
          value: captureStorageAccountId
        }
        {
          name: 'ALLOWED_SCOPES'
          value: allowedScopes
        }
        {
          name: 'ARM_ENDPOINT'
          value: armEndpoint
        }
        {
          name: 'LEDGER_STORAGE_ACCOUNT_NAME'
          value: storage.name
        }
        {
          name: 'LEDGER_TABLE_NAME'
          value: ledgerTableName
        }
        {
          name: 'STORAGE_ENDPOINT_SUFFIX'
          value: storageEndpointSuffix
        }
        {
          name: 'NETWORK_WATCHER_RESOURCE_GROUP'
          value: networkWatcherResourceGroupName
        }
        {
          name: 'AUTO_INSTALL_AGENT'
          value: autoInstallAgent ? 'true' : 'false'
        }
        {
          name: 'STOP_ON_RESOLVE'
          value: stopOnResolve ? 'true' : 'false'
        }
        {
          name: 'CAPTURE_NAME_PREFIX'
          value: captureNamePrefix
        }
        {
          name: 'CAPTURE_TIME_LIMIT_SECONDS'
          value: string(captureTimeLimitSeconds)
        }
        {
          name: 'CAPTURE_MAX_TIME_LIMIT_SECONDS'
          value: string(captureMaxTimeLimitSeconds)
        }
        {
          name: 'CAPTURE_TOTAL_BYTES'
          value: string(captureTotalBytes)
        }
        {
          name: 'CAPTURE_SESSION_BUDGET'
          value: string(captureSessionBudget)
        }
        {
          name: 'CAPTURE_FILTERS'
          value: captureFilters
        }
        {
          name: 'CAPTURE_POLL_SCHEDULE'
          value: capturePollSchedule
        }
        // The app treats an empty value as unset, so these can always be present.
        {
          name: 'NOTIFY_WEBHOOK_URL'
          value: notifyWebhookUrl
        }
        {
          name: 'NOTIFY_TEAMS_WEBHOOK_URL'
          value: notifyTeamsWebhookUrl
        }
        {
          name: 'NOTIFY_SLACK_WEBHOOK_URL'
          value: notifySlackWebhookUrl
        }
      ]
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output principalId string = functionApp.identity.principalId
