/**
 * Packet synthesizer of the Network Watcher emulator: turns a stopped emulated capture into a real pcap file.
 * Test-only code, never deployed.
 */
export {
  synthesizeCapture,
  filterView,
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_RECORD_HEADER_BYTES,
  PCAP_WHOLE_PACKET_SNAPLEN,
} from './synthesizeCapture.js';
export type { SynthesizeCaptureOptions, SynthesizedCapture } from './synthesizeCapture.js';
export { matchesFilters, compileFilters, CaptureFilterError } from './matchesFilters.js';
export type { CaptureFilterSpec, FilterablePacket, PacketPredicate } from './matchesFilters.js';
export { createTrafficProfile } from './createTrafficProfile.js';
export type { Peer, TrafficProfile } from './createTrafficProfile.js';
export { generateTraffic, MAX_SCALED_MINUTES } from './generateTraffic.js';
export type { GenerateTrafficOptions } from './generateTraffic.js';
export { buildFrame, frameLength, TCP_FLAGS } from './buildFrame.js';
export type { FrameMacs, PacketSpec, TransportSpec } from './buildFrame.js';
export { parseIpv4, formatIpv4 } from './ipv4.js';
export { internetChecksum } from './internetChecksum.js';
export { createPrng, hashSeed } from './createPrng.js';
export type { Prng } from './createPrng.js';
