import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

/** A PEM key pair for the emulator's HTTPS server. */
export interface EmulatorTls {
  key: string;
  cert: string;
}

/**
 * Makes a self-signed certificate for 127.0.0.1 and localhost, valid for a day.
 * An EC key keeps this fast (tens of ms), so every run can make its own.
 */
export async function createCertificate(): Promise<EmulatorTls> {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 24 * 3600_000),
    extensions: [
      // The certificate is its own trust anchor (clients trust it via NODE_EXTRA_CA_CERTS).
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** Writes a PEM certificate to a new temporary directory and returns the file's path. */
export function writeCertificateFile(certPem: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'nw-emulator-'));
  const file = path.join(dir, 'emulator-ca.pem');
  writeFileSync(file, certPem);
  return file;
}
