// Alert wiring: the function key the webhook presents, the action group that calls the alertWebhook function with
// the common alert schema, and an optional sample metric alert on one VM.

@description('Tags applied to every resource.')
param tags object

@description('Name of the function app that serves /api/alertWebhook.')
param functionAppName string

@description('Name of the action group.')
param actionGroupName string

@maxLength(12)
@description('Short name of the action group (shown in SMS and e-mail notifications, at most 12 characters).')
param actionGroupShortName string

@secure()
@minLength(32)
@description('Value of the function key the action group sends as ?code= (letters and digits only).')
param webhookFunctionKey string

@description('Resource id of a VM for the sample "Network Out Total" alert. Empty: no sample alert.')
param sampleAlertVmId string

@minValue(1)
@description('Bytes sent by the VM over the window above which the sample alert fires.')
param sampleAlertThresholdBytes int

// The key's name as it appears in the portal (Functions > App keys).
var functionKeyName = 'azure-monitor-action-group'

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// A host-level function key from a deployment parameter, so the action group can carry it without ever reading
// keys back (listKeys) from the app.
#disable-next-line BCP081 // the Bicep type library has no schema for host keys; ARM accepts the resource
resource webhookKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: '${functionApp.name}/default/${functionKeyName}'
  properties: {
    name: functionKeyName
    value: webhookFunctionKey
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: actionGroupShortName
    enabled: true
    webhookReceivers: [
      {
        name: 'alert-capture'
        serviceUri: 'https://${functionApp.properties.defaultHostName}/api/alertWebhook?code=${webhookFunctionKey}'
        // The webhook parses every schema, but the common one carries the target resource ids it authorizes on.
        useCommonAlertSchema: true
        useAadAuth: false
      }
    ]
  }
  dependsOn: [
    webhookKey
  ]
}

resource sampleAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = if (!empty(sampleAlertVmId)) {
  name: 'alert-capture-sample-network-out'
  location: 'global'
  tags: tags
  properties: {
    description: 'Sample: capture packets when the VM sends more than the threshold within five minutes.'
    severity: 3
    enabled: true
    scopes: [
      sampleAlertVmId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    targetResourceType: 'Microsoft.Compute/virtualMachines'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'NetworkOutTotal'
          criterionType: 'StaticThresholdCriterion'
          metricNamespace: 'Microsoft.Compute/virtualMachines'
          metricName: 'Network Out Total'
          operator: 'GreaterThan'
          threshold: sampleAlertThresholdBytes
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
