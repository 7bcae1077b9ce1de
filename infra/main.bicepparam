// Sample parameters. `azd up` sets AZURE_ENV_NAME, AZURE_LOCATION and AZURE_SUBSCRIPTION_ID itself; with
// `az deployment sub create` export them (or edit the fallbacks below) before deploying.
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'alertcap-dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')

// Where VMs may be captured: whole subscriptions and/or resource groups (comma-separated in ALERT_CAPTURE_SCOPES).
// Default: the deployment subscription.
param monitoredScopes = split(readEnvironmentVariable('ALERT_CAPTURE_SCOPES', '/subscriptions/${readEnvironmentVariable('AZURE_SUBSCRIPTION_ID', '00000000-0000-0000-0000-000000000000')}'), ',')

param autoInstallAgent = false
param captureRetentionDays = 30
param captureTimeLimitSeconds = 300
param captureMaxTimeLimitSeconds = 1800
param stopOnResolve = false

// Required, never committed: `azd env set ALERT_CAPTURE_WEBHOOK_KEY "$(openssl rand -hex 32)"`
// (or `export ALERT_CAPTURE_WEBHOOK_KEY=...` for the az CLI).
param webhookFunctionKey = readEnvironmentVariable('ALERT_CAPTURE_WEBHOOK_KEY')

param notifyTeamsWebhookUrl = readEnvironmentVariable('ALERT_CAPTURE_TEAMS_WEBHOOK_URL', '')

// Set ALERT_CAPTURE_SAMPLE_VM_ID to a VM resource id to create the sample "Network Out Total" alert.
param sampleAlertVmId = readEnvironmentVariable('ALERT_CAPTURE_SAMPLE_VM_ID', '')
