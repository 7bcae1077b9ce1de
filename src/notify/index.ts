/**
 * Completion notifiers: one message per capture attempt to the generic JSON webhook, Microsoft Teams (Workflows
 * webhook, Adaptive Card) and Slack (incoming webhook, Block Kit). See `README.md` in this folder.
 */
export type { CaptureNotification } from './captureNotification.js';
export {
  MAX_NOTIFIED_CONVERSATIONS,
  captureIdempotencyKey,
  toWebhookPayload,
  topConversations,
} from './captureNotification.js';
export {
  describeCapture,
  describeCaptureError,
  describeStatus,
  describeStopReason,
  formatBytes,
  formatDurationSeconds,
  vmNameOf,
} from './describeCapture.js';
export type { CaptureDescription, ConversationRow } from './describeCapture.js';
export { SLACK_LIMITS, escapeSlack, toSlackPayload } from './toSlackPayload.js';
export type { SlackBlock, SlackPayload, SlackText } from './toSlackPayload.js';
export { ADAPTIVE_CARD_SCHEMA, ADAPTIVE_CARD_VERSION, toTeamsPayload } from './toTeamsPayload.js';
export type {
  AdaptiveCard,
  CardElement,
  Column,
  ColumnSet,
  FactSet,
  OpenUrlAction,
  TeamsPayload,
  TextBlock,
} from './toTeamsPayload.js';
export {
  DEFAULT_NOTIFY_TIMEOUT_IN_MS,
  deliverNotification,
  idempotencyHeaderValue,
  nextNotifyDelaySeconds,
} from './deliverNotification.js';
export type {
  DeliverOptions,
  DeliveryResult,
  NotifyTargetKind,
  NotifyTargets,
  TargetDeliveryResult,
} from './deliverNotification.js';
