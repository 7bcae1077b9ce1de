// Telemetry: a workspace-based Application Insights component that accepts Entra ID-authenticated ingestion only.

@description('Region of the workspace and the component.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@minValue(30)
@maxValue(730)
@description('Days the workspace keeps logs.')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Instrumentation-key ingestion is refused: the app authenticates with its managed identity
    // (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD, Monitoring Metrics Publisher in appRbac.bicep).
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = applicationInsights.name
