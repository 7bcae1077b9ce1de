import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { GeoDatabase } from '../../../src/report/GeoDatabase.js';
import { parseAddress } from '../../../src/report/parseAddress.js';

const require = createRequire(import.meta.url);

/** The ASN table read the slow, obvious way: every line parsed, searched linearly. */
function linearAsn(file: string): (value: bigint) => number | undefined {
  const rows = readFileSync(require.resolve(`@ip-location-db/asn/${file}`), 'latin1')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [from, to, asn] = line.split(',');
      return [BigInt(from!), BigInt(to!), Number(asn)] as const;
    });
  return (value) => rows.find(([from, to]) => value >= from && value <= to)?.[2];
}

describe('GeoDatabase (offline DB-IP country and ip-location-db ASN data)', () => {
  const geo = GeoDatabase.load();

  it('knows Google DNS, Cloudflare and Microsoft, IPv4 and IPv6', () => {
    expect(geo.lookup('8.8.8.8')).toEqual({ country: 'US', asn: 15169, asOrganization: 'Google LLC' });
    expect(geo.lookup('1.1.1.1')).toMatchObject({ asn: 13335, asOrganization: 'Cloudflare, Inc.' });
    expect(geo.lookup('52.239.160.36')).toMatchObject({ asn: 8075, asOrganization: 'Microsoft Corporation' });
    expect(geo.lookup('2001:4860:4860::8888')).toMatchObject({ asn: 15169 });
  });

  it('answers nothing for private, reserved and malformed addresses', () => {
    expect(geo.lookup('10.0.0.4')).toEqual({});
    expect(geo.lookup('255.255.255.255')).toEqual({});
    expect(geo.lookup('example.com')).toEqual({});
  });

  it('finds the same AS as a linear scan of the table, for addresses spread over the whole space', () => {
    const v4 = linearAsn('asn-ipv4-num.csv');
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 300; i++) {
      const value = next();
      const text = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
      expect(geo.lookup(text).asn, text).toBe(v4(BigInt(parseAddress(text)!.value)));
    }
    const v6 = linearAsn('asn-ipv6-num.csv');
    for (const text of [
      '2001:4860:4860::8888',
      '2a01:111::1',
      '2400:cb00::1',
      '2c0f:fb50::1',
      '2001:db8::1',
    ]) {
      expect(geo.lookup(text).asn, text).toBe(v6(parseAddress(text)!.value as bigint));
    }
  });

  it('names its sources with their licence, attribution and data date', () => {
    expect(geo.sources.map((s) => [s.licence, s.attribution])).toEqual([
      ['CC BY 4.0', 'IP Geolocation by DB-IP'],
      ['CC BY 4.0', expect.stringContaining('RouteViews')],
    ]);
    for (const s of geo.sources) expect(s.dataDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(GeoDatabase.load()).toBe(geo);
  });
});
