/**
 * Capture analysis: a streaming pcap/pcapng reader and a tshark-exact summary of what it holds.
 * @packageDocumentation
 */
export { CaptureFormatError } from './CaptureFormatError.js';
export { CaptureReader, MAX_PACKET_BYTES } from './CaptureReader.js';
export type { PacketHandler, RawPacket } from './CaptureReader.js';
export { formatIPv4, formatIPv6 } from './formatAddress.js';
export { formatBytes, formatSummaryText } from './formatSummaryText.js';
export type { FormatSummaryTextOptions } from './formatSummaryText.js';
export { SummaryBuilder } from './SummaryBuilder.js';
export { summarizeBuffer, summarizeStream } from './summarizeStream.js';
export type { CaptureSource, SummarizeOptions } from './summarizeStream.js';
export type { CaptureSummary, ConversationStat, ProtocolStat, Signal, TalkerStat } from './types.js';
