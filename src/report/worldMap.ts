import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { numericToAlpha2 } from './countryNames.js';
import type { DataSource } from './GeoDatabase.js';

/** One country outline, projected into the map's 960 × 500 box. */
export interface CountryShape {
  /** ISO 3166-1 alpha-2 code, or `-99`-style world-atlas ids prefixed `X` for shapes without one. */
  code: string;
  name: string;
  /** SVG path data. */
  d: string;
}

const WORLD_ATLAS = 'world-atlas';
/** Natural Earth 1:110m: the coarsest set, about 120 KB of path data, enough to see where the peers are. */
const WORLD_FILE = 'countries-110m.json';
export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 500;

const require = createRequire(import.meta.url);
let cached: CountryShape[] | undefined;

/**
 * The Natural Earth projection (Šavrič et al. 2015), the polynomial d3-geo uses for `geoNaturalEarth1`; its
 * range is about ±2.73 by ±1.42 for a unit sphere.
 */
function project([longitude, latitude]: Position): [number, number] {
  const lambda = ((longitude ?? 0) * Math.PI) / 180;
  const phi = ((latitude ?? 0) * Math.PI) / 180;
  const phi2 = phi * phi;
  const phi4 = phi2 * phi2;
  const x =
    lambda * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)));
  const y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)));
  const scale = MAP_WIDTH / (2 * 2.7379);
  return [MAP_WIDTH / 2 + x * scale, MAP_HEIGHT / 2 - y * scale];
}

/**
 * One ring as path data. A ring that crosses the antimeridian (Russia, Fiji) would draw a line across the whole
 * map; its longitudes are unwrapped to run on continuously and then clamped to ±180°, which folds the sliver beyond
 * the edge onto it instead (d3-geo clips there; at 1:110m the difference is a few pixels).
 */
function ringPath(ring: Position[]): string {
  let out = '';
  let lastX = NaN;
  let lastY = NaN;
  let previous: number | undefined;
  let shift = 0;
  for (const [longitude = 0, latitude = 0] of ring) {
    if (previous !== undefined) {
      if (longitude - previous > 180) shift -= 360;
      else if (previous - longitude > 180) shift += 360;
    }
    previous = longitude;
    const [px, py] = project([Math.max(-180, Math.min(180, longitude + shift)), latitude]);
    const x = Math.round(px * 10) / 10;
    const y = Math.round(py * 10) / 10;
    if (x === lastX && y === lastY) continue;
    out += `${out === '' ? 'M' : 'L'}${x} ${y}`;
    lastX = x;
    lastY = y;
  }
  return `${out}Z`;
}

/** Every country's outline, projected once per process from world-atlas's TopoJSON. */
export function countryShapes(): CountryShape[] {
  if (cached) return cached;
  const topology = JSON.parse(
    readFileSync(require.resolve(`${WORLD_ATLAS}/${WORLD_FILE}`), 'utf8'),
  ) as Topology<{
    countries: GeometryCollection<{ name: string }>;
  }>;
  const collection = feature(topology, topology.objects.countries);
  cached = collection.features.flatMap((f, index) => {
    const geometry = f.geometry as Polygon | MultiPolygon | null;
    if (geometry === null) return [];
    const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
    const id = f.id === undefined ? undefined : String(f.id);
    const name = f.properties?.name ?? '';
    // Kosovo has no ISO numeric code; DB-IP uses the user-assigned XK for it.
    const code =
      (id !== undefined ? numericToAlpha2(id) : undefined) ?? (name === 'Kosovo' ? 'XK' : `X${index}`);
    return [{ code, name: name || code, d: polygons.map((p) => p.map(ringPath).join('')).join('') }];
  });
  return cached;
}

/** The map's data source, for the provenance section. */
export function mapSource(): DataSource {
  const version = (require(`${WORLD_ATLAS}/package.json`) as { version: string }).version;
  return {
    name: 'Natural Earth 1:110m admin 0 countries (via world-atlas)',
    package: `${WORLD_ATLAS}@${version}`,
    // world-atlas 2.x redistributes Natural Earth 4.1.0, per its README.
    dataDate: 'Natural Earth 4.1.0 (2018)',
    licence: 'Public domain (Natural Earth); world-atlas ISC',
    attribution: 'Made with Natural Earth',
    url: 'https://www.naturalearthdata.com',
  };
}
