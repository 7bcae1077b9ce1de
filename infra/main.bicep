// alert-capture: one subscription-scope deployment (`azd up`, or `az deployment sub create`).
// This file only wires modules; each concern lives in its own module under ./modules.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd environment name); seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region of the resource group and every resource in it; it must offer Flex Consumption (FC1).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Name of the resource group to create or reuse. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@minLength(1)
@description('Subscription ids (/subscriptions/<id>) or resource-group ids (/subscriptions/<id>/resourceGroups/<name>) whose VMs may be captured ("*" is not accepted: the role needs concrete scopes). Becomes ALLOWED_SCOPES, and the capture operator role is assigned at each of them.')
param monitoredScopes array

@description('Resource group holding the regional Network Watchers in each monitored subscription (Azure creates NetworkWatcherRG by default).')
param networkWatcherResourceGroupName string = 'NetworkWatcherRG'

@description('Assign the capture operator role at the Network Watcher resource group of every subscription that is monitored only through resource-group scopes. Turn off only if that resource group does not exist yet (no virtual network in the subscription).')
param assignAtNetworkWatcherResourceGroups bool = true

@description('Let the app install the Network Watcher agent VM extension when a VM lacks it (grants Microsoft.Compute/virtualMachines/extensions/write at the monitored scopes).')
param autoInstallAgent bool = false

@minValue(1)
@maxValue(3650)
@description('Days after which capture files under network-watcher-logs/ are deleted by the storage lifecycle policy.')
param captureRetentionDays int = 30

@minLength(3)
@maxLength(63)
@description('Name of the ledger table in the function app storage account (LEDGER_TABLE_NAME): 3-63 letters and digits, starting with a letter, not "tables".')
param ledgerTableName string = 'captures'

@minLength(1)
@maxLength(20)
@description('Prefix of the capture names the app creates and is allowed to stop or delete (CAPTURE_NAME_PREFIX).')
param captureNamePrefix string = 'alertcap'

@minValue(1)
@maxValue(18000)
@description('Default capture duration in seconds (CAPTURE_TIME_LIMIT_SECONDS).')
param captureTimeLimitSeconds int = 300

@minValue(1)
@maxValue(18000)
@description('Longest capture an alert rule may ask for, in seconds (CAPTURE_MAX_TIME_LIMIT_SECONDS).')
param captureMaxTimeLimitSeconds int = 1800

@minValue(1)
@description('Maximum bytes written per capture session (CAPTURE_TOTAL_BYTES).')
param captureTotalBytes int = 104857600

@minValue(1)
@maxValue(10000)
@description('Captures the app may hold per subscription and region at once (CAPTURE_SESSION_BUDGET).')
param captureSessionBudget int = 10

@description('Default Network Watcher capture filters as a JSON array (CAPTURE_FILTERS), for example [{"protocol":"TCP","remotePort":"443"}].')
param captureFilters string = '[]'

@description('Stop a running capture early when its alert resolves (STOP_ON_RESOLVE).')
param stopOnResolve bool = false

@description('NCRONTAB schedule of the capture poller (CAPTURE_POLL_SCHEDULE), six fields with seconds.')
param capturePollSchedule string = '*/30 * * * * *'

@secure()
@description('Generic JSON webhook notified when a capture ends (NOTIFY_WEBHOOK_URL). Empty: not used.')
param notifyWebhookUrl string = ''

@secure()
@description('Microsoft Teams incoming webhook URL (NOTIFY_TEAMS_WEBHOOK_URL). Empty: not used.')
param notifyTeamsWebhookUrl string = ''

@secure()
@description('Slack incoming webhook URL (NOTIFY_SLACK_WEBHOOK_URL). Empty: not used.')
param notifySlackWebhookUrl string = ''

@secure()
@minLength(32)
@description('Function key the action group presents to the alertWebhook function (?code=). Use letters and digits only, for example `openssl rand -hex 32`.')
param webhookFunctionKey string

@description('Resource id of a VM to watch with the sample "Network Out Total" metric alert. Empty: no sample alert.')
param sampleAlertVmId string = ''

@minValue(1)
@description('Threshold of the sample metric alert, in bytes sent by the VM over the 5-minute window.')
param sampleAlertThresholdBytes int = 500000000

@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out limit of the function app.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption instance memory size in MB.')
param instanceMemoryMB int = 2048

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

// Bicep has no regex: the table-name rule (letters and digits, a letter first, not the reserved "tables") is checked
// character by character. An invalid name is replaced by one ARM refuses, whose text says what was expected.
var ledgerTableChars = map(range(0, length(ledgerTableName)), i => toLower(substring(ledgerTableName, i, 1)))
var ledgerTableNameIsValid = empty(filter(ledgerTableChars, c => !contains('abcdefghijklmnopqrstuvwxyz0123456789', c))) && contains('abcdefghijklmnopqrstuvwxyz', ledgerTableChars[0]) && toLower(ledgerTableName) != 'tables'
var checkedLedgerTableName = ledgerTableNameIsValid ? ledgerTableName : 'ledgerTableName-must-be-3-63-letters-and-digits-starting-with-a-letter'
var tags = {
  'azd-env-name': environmentName
  app: 'alert-capture'
}

// ARM ids have exactly three segments for a subscription ('', 'subscriptions', id) and five for a resource group.
var monitoredSubscriptionScopes = filter(monitoredScopes, s => length(split(s, '/')) == 3)
var monitoredResourceGroupScopes = filter(monitoredScopes, s => length(split(s, '/')) == 5)
var monitoredSubscriptionIds = map(monitoredSubscriptionScopes, s => toLower(split(s, '/')[2]))
var monitoredResourceGroupIds = map(monitoredResourceGroupScopes, s => toLower(s))

// Packet captures are child resources of the regional watcher (NetworkWatcherRG/NetworkWatcher_<region>), not of
// the VM, so an assignment on the VM's resource group alone cannot create them. Subscriptions monitored as a whole
// already cover their watcher; for those monitored only through resource groups the operator role is also assigned
// on the watcher's resource group (once per subscription: union() removes duplicates).
var rgScopeSubscriptionIds = union(map(monitoredResourceGroupScopes, s => toLower(split(s, '/')[2])), [])
var watcherSubscriptionIds = filter(rgScopeSubscriptionIds, sub => !contains(monitoredSubscriptionIds, sub) && !contains(monitoredResourceGroupIds, toLower('/subscriptions/${sub}/resourceGroups/${networkWatcherResourceGroupName}')))
var operationSubscriptionScopes = map(union(monitoredSubscriptionIds, rgScopeSubscriptionIds), sub => '/subscriptions/${sub}')
var watcherResourceGroupScopes = map(assignAtNetworkWatcherResourceGroups ? watcherSubscriptionIds : [], sub => '/subscriptions/${sub}/resourceGroups/${networkWatcherResourceGroupName}')

// ARM_ENDPOINT of the cloud this is deployed to (public, sovereign), without the trailing slash ARM reports.
var resourceManager = environment().resourceManager
var armEndpoint = endsWith(resourceManager, '/') ? substring(resourceManager, 0, length(resourceManager) - 1) : resourceManager

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module appStorage 'modules/appStorage.bicep' = {
  name: 'appStorage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: 'stapp${resourceToken}'
    deploymentContainerName: 'app-package-${resourceToken}'
    ledgerTableName: checkedLedgerTableName
  }
}

module captureStorage 'modules/captureStorage.bicep' = {
  name: 'captureStorage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: 'stcap${resourceToken}'
    retentionDays: captureRetentionDays
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: 'plan-${resourceToken}'
    functionAppName: 'func-alertcap-${resourceToken}'
    storageAccountName: appStorage.outputs.name
    deploymentContainerName: appStorage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    captureStorageAccountId: captureStorage.outputs.id
    allowedScopes: join(monitoredScopes, ',')
    armEndpoint: armEndpoint
    ledgerTableName: checkedLedgerTableName
    storageEndpointSuffix: environment().suffixes.storage
    networkWatcherResourceGroupName: networkWatcherResourceGroupName
    autoInstallAgent: autoInstallAgent
    stopOnResolve: stopOnResolve
    captureNamePrefix: captureNamePrefix
    captureTimeLimitSeconds: captureTimeLimitSeconds
    captureMaxTimeLimitSeconds: captureMaxTimeLimitSeconds
    captureTotalBytes: captureTotalBytes
    captureSessionBudget: captureSessionBudget
    captureFilters: captureFilters
    capturePollSchedule: capturePollSchedule
    notifyWebhookUrl: notifyWebhookUrl
    notifyTeamsWebhookUrl: notifyTeamsWebhookUrl
    notifySlackWebhookUrl: notifySlackWebhookUrl
  }
}

// Custom roles live at subscription scope; role assignments reference them by GUID.
module captureRoles 'modules/captureRoles.bicep' = {
  name: 'captureRoles-${resourceToken}'
  params: {
    environmentName: environmentName
    autoInstallAgent: autoInstallAgent
    operatorAssignableScopes: union([subscription().id], monitoredScopes, watcherResourceGroupScopes)
    operationsAssignableScopes: union([subscription().id], operationSubscriptionScopes)
  }
}

// Everything the app needs inside its own resource group: storage data roles, telemetry, the capture account.
module appRbac 'modules/appRbac.bicep' = {
  name: 'appRbac'
  scope: rg
  params: {
    principalId: functionApp.outputs.principalId
    appStorageAccountName: appStorage.outputs.name
    captureStorageAccountName: captureStorage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    captureStorageRoleGuid: captureRoles.outputs.captureStorageRoleGuid
  }
}

// The capture reports' container in the capture account, writable by the app and by nothing else it holds.
module reportStorage 'modules/reportStorage.bicep' = {
  name: 'reportStorage'
  scope: rg
  params: {
    principalId: functionApp.outputs.principalId
    captureStorageAccountName: captureStorage.outputs.name
  }
}

module operatorOnSubscriptions 'modules/operatorSubscriptionAssignment.bicep' = [
  for s in monitoredSubscriptionScopes: {
    name: 'captureOperator-${uniqueString(s, resourceToken)}'
    scope: subscription(split(s, '/')[2])
    params: {
      principalId: functionApp.outputs.principalId
      roleGuid: captureRoles.outputs.captureOperatorRoleGuid
    }
  }
]

// The long-running operations the SDK polls live at subscription scope: the operation reader role goes on every
// monitored subscription, also those monitored only through resource groups.
module operationsOnSubscriptions 'modules/operatorSubscriptionAssignment.bicep' = [
  for s in operationSubscriptionScopes: {
    name: 'captureOperations-${uniqueString(s, resourceToken)}'
    scope: subscription(split(s, '/')[2])
    params: {
      principalId: functionApp.outputs.principalId
      roleGuid: captureRoles.outputs.captureOperationsRoleGuid
    }
  }
]

module operatorOnResourceGroups 'modules/operatorResourceGroupAssignment.bicep' = [
  for s in concat(monitoredResourceGroupScopes, watcherResourceGroupScopes): {
    name: 'captureOperator-${uniqueString(s, resourceToken)}'
    scope: resourceGroup(split(s, '/')[2], split(s, '/')[4])
    params: {
      principalId: functionApp.outputs.principalId
      roleGuid: captureRoles.outputs.captureOperatorRoleGuid
    }
  }
]

// The action group's webhook and the function key it carries; after appRbac because the Flex host keeps its keys
// in its (identity-only) storage account and must be able to reach it.
module alerting 'modules/alerting.bicep' = {
  name: 'alerting'
  scope: rg
  params: {
    tags: tags
    functionAppName: functionApp.outputs.name
    actionGroupName: 'ag-alertcap-${resourceToken}'
    actionGroupShortName: 'alertcap'
    webhookFunctionKey: webhookFunctionKey
    sampleAlertVmId: sampleAlertVmId
    sampleAlertThresholdBytes: sampleAlertThresholdBytes
  }
  dependsOn: [
    appRbac
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = functionApp.outputs.name
output FUNCTION_APP_PRINCIPAL_ID string = functionApp.outputs.principalId
output ACTION_GROUP_ID string = alerting.outputs.actionGroupId
output CAPTURE_STORAGE_ACCOUNT_ID string = captureStorage.outputs.id
output CAPTURE_OPERATOR_ROLE_ID string = captureRoles.outputs.captureOperatorRoleId
