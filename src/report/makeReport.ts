import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { summarizeStream, type CaptureSource, type SummarizeOptions } from '../pcap/summarizeStream.js';
import { TimelineBuilder } from '../pcap/TimelineBuilder.js';
import type { CaptureSummary } from '../pcap/types.js';
import { GeoDatabase } from './GeoDatabase.js';
import { renderReport, type RenderReportOptions } from './renderReport.js';
import type { ReportBefore, ReportCapture } from './types.js';
import { mapSource } from './worldMap.js';

/** Options for {@link makeReport}. */
export interface MakeReportOptions extends Pick<SummarizeOptions, 'timeLimitInMs' | 'abortSignal' | 'now'> {
  /** Overrides for the renderer; by default the offline databases shipped with the app and this package's version. */
  render?: Partial<RenderReportOptions>;
  /** A ring VM's alert: what it kept before it fired, shown beside this capture ("Before and after"). */
  before?: ReportBefore;
}

/** A report and the summary it shows. */
export interface MadeReport {
  html: string;
  summary: CaptureSummary;
}

let version: string | undefined;

/** This package's version, read once from its package.json (two or three folders up, in src/ or dist/src/). */
export function toolVersion(): string {
  if (version !== undefined) return version;
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'alert-capture' && typeof pkg.version === 'string') return (version = pkg.version);
    } catch {
      // Not this folder; try the next.
    }
  }
  return (version = 'unknown');
}

/** The renderer's default options: the shipped geo databases and map, this version. */
export function defaultRenderOptions(): RenderReportOptions {
  const geo = GeoDatabase.load();
  return { geo, sources: [...geo.sources, mapSource()], toolVersion: toolVersion() };
}

/**
 * Reads a capture once (summary, timeline and SHA-256 in the same pass, memory bounded as for `summarize`) and
 * renders its report. `capture.sha256` is filled in from the bytes read unless given. Never throws for a bad
 * capture: like the summary, the report then shows what could be read, flagged partial.
 */
export async function makeReport(
  source: CaptureSource,
  capture: ReportCapture,
  options: MakeReportOptions = {},
): Promise<MadeReport> {
  const timeline = new TimelineBuilder();
  const hash = createHash('sha256');
  let read = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source as AsyncIterable<unknown>) {
      if (chunk instanceof Uint8Array) {
        hash.update(chunk);
        read += chunk.length;
      }
      yield chunk as Uint8Array;
    }
  }
  const { render, before, ...summarize } = options;
  const summary = await summarizeStream(hashed(), { ...summarize, onPacket: (p) => timeline.add(p) });
  // A partial read hashed only part of the file: a digest of that would look like the file's, so leave it out.
  const sha256 = capture.sha256 ?? (summary.partial ? undefined : hash.digest('hex'));
  const drawn = timeline.finish();
  const html = renderReport(
    {
      summary,
      ...(before !== undefined ? { before } : {}),
      ...(drawn !== undefined ? { timeline: drawn } : {}),
      capture: {
        ...capture,
        ...(sha256 !== undefined ? { sha256 } : {}),
        ...(capture.fileBytes === undefined && !summary.partial ? { fileBytes: read } : {}),
      },
    },
    { ...defaultRenderOptions(), ...render },
  );
  return { html, summary };
}
