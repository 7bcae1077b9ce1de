/**
 * The capture report: one self-contained HTML page per capture (verdict, signals, timeline, conversations,
 * endpoints, protocols, map, provenance), drawn from a summary with offline geo and AS data.
 * @packageDocumentation
 */
export { buildReportContext, describeAddress, MICROSOFT_ASNS } from './buildReportContext.js';
export type { AddressInfo, GeoLookup, ReportContext } from './buildReportContext.js';
export { classifyAddress } from './classifyAddress.js';
export type { AddressKind, AddressLabel } from './classifyAddress.js';
export { GeoDatabase } from './GeoDatabase.js';
export type { DataSource, GeoAnswer } from './GeoDatabase.js';
export { defaultRenderOptions, makeReport, toolVersion } from './makeReport.js';
export type { MadeReport, MakeReportOptions } from './makeReport.js';
export { MAX_REPORT_CONVERSATIONS, renderReport } from './renderReport.js';
export type { RenderReportOptions } from './renderReport.js';
export type { ReportCapture, ReportInput } from './types.js';
