import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, USAGE } from '../../../src/cli/runCli.js';
import { defaultReportPath } from '../../../src/cli/runReport.js';
import { reportCapture } from '../../unit/report/reportCapture.js';

async function cli(
  argv: string[],
  stdinBytes?: Buffer,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const parts: Buffer[] = [];
  const errs: Buffer[] = [];
  out.on('data', (d: Buffer) => parts.push(d));
  err.on('data', (d: Buffer) => errs.push(d));
  const stdin = Readable.from(stdinBytes === undefined ? [] : [stdinBytes]);
  const code = await runCli(argv, { stdout: out, stderr: err, stdin });
  return {
    code,
    stdout: Buffer.concat(parts).toString('utf8'),
    stderr: Buffer.concat(errs).toString('utf8'),
  };
}

describe('alert-capture report', () => {
  let dir: string;
  let capture: string;
  const bytes = reportCapture();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-cli-'));
    capture = join(dir, 'capture.pcap');
    await writeFile(capture, bytes);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("writes the report next to the input, named after it, with the file's SHA-256 and size", async () => {
    const r = await cli(['report', capture]);
    expect(r.code).toBe(0);
    const out = join(dir, 'capture.html');
    expect(r.stderr).toContain(`report written to ${out}`);
    const html = readFileSync(out, 'utf8');
    const { createHash } = await import('node:crypto');
    expect(html).toContain(createHash('sha256').update(bytes).digest('hex'));
    expect(html).toContain('capture.pcap (');
  });

  it('writes to -o, and reads standard input with "-" (to standard output unless -o)', async () => {
    const target = join(dir, 'named.html');
    expect((await cli(['report', capture, '-o', target])).code).toBe(0);
    expect(existsSync(target)).toBe(true);
    const piped = await cli(['report', '-'], bytes);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^<!doctype html>/);
    expect(piped.stdout).toContain('standard input');
  });

  it('marks the fired time given with --fired-at', async () => {
    const r = await cli(['report', capture, '-o', join(dir, 'f.html'), '--fired-at', '2026-05-28T20:26:43Z']);
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, 'f.html'), 'utf8');
    expect(html).toContain('2026-05-28T20:26:43.000Z');
    expect(html).toContain('alert fired');
  });

  it('still writes the report of what it could read from a cut file, and exits 1', async () => {
    const cut = join(dir, 'cut.pcap');
    await writeFile(cut, bytes.subarray(0, bytes.length - 7));
    const r = await cli(['report', cut]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cut.pcap:');
    const html = readFileSync(join(dir, 'cut.html'), 'utf8');
    expect(html).toContain('only part of the file was read');
    expect(html).not.toContain('SHA-256'); // a digest of part of the file would pass for the file's
  });

  it('refuses bad usage with exit 2 and a message naming the problem', async () => {
    const cases: [string[], string][] = [
      [['report'], 'missing capture file'],
      [['report', capture, 'extra'], 'unexpected argument extra'],
      [['report', capture, '--bogus'], 'unknown option --bogus'],
      [['report', capture, '-o'], '-o needs a value'],
      [['report', capture, '--fired-at', 'yesterday'], '--fired-at expects an ISO time, got yesterday'],
      [['report', dir], 'not a regular file'],
      [['report', capture, '-o', join(dir, 'no', 'such', 'dir', 'r.html')], 'cannot write'],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toContain(message);
    }
    const missing = await cli(['report', join(dir, 'missing.pcap')]);
    expect(missing).toMatchObject({
      code: 3,
      stderr: `alert-capture: no such file: ${join(dir, 'missing.pcap')}\n`,
    });
    const help = await cli(['report', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: alert-capture report');
    expect(USAGE).toContain('alert-capture report <file|->');
  });

  it('names the default output after the input', () => {
    expect(defaultReportPath('a/capture.pcap')).toBe('a/capture.html');
    expect(defaultReportPath('capture')).toBe('capture.html');
    expect(defaultReportPath('x.tar.cap')).toBe('x.tar.html');
  });
});
