/**
 * The Network Watcher emulator: an HTTPS stand-in for the Azure Resource Manager operations alert-capture uses.
 * Test and sandbox code only, never deployed.
 */
export { startEmulator, DEFAULT_CLIENT_ID } from './startEmulator.js';
export { emulatorCredential } from './emulatorCredential.js';
export { createCertificate, writeCertificateFile } from './createCertificate.js';
export type { EmulatorTls } from './createCertificate.js';
export {
  STOP_REASONS,
  CAPTURE_START_SECONDS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_UPLOAD_DELAY_SECONDS,
  DEFAULT_AGENT_EXTENSION_NAME,
} from './NetworkWatcherModel.js';
export { CAPTURE_CONTAINER } from './CaptureStore.js';
export { RING_DEFAULTS, RING_CHUNK_SECONDS } from './RingRecorder.js';
export type {
  RingFile,
  RingBlobLayout,
  RingDeleteWhen,
  ContinuousFalseBehaviour,
  RingSessionEnd,
} from './RingRecorder.js';
export { DEFAULT_RING_UPLOAD_DELAY_SECONDS } from './startEmulator.js';
export {
  NETWORK_API_VERSIONS,
  COMPUTE_API_VERSIONS,
  MSI_API_VERSION,
  FIRST_PAGED_NETWORK_API_VERSION,
} from './apiVersions.js';
export type {
  AgentState,
  Emulator,
  EmulatorCapture,
  EmulatorConfig,
  EmulatorOptions,
  EmulatorVm,
  FaultKind,
  FaultRule,
  PlantedCapture,
  TrafficEventInput,
  RequestLogEntry,
} from './types.js';
