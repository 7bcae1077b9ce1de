import { escapeHtml } from './escapeHtml.js';
import { countryShapes, MAP_HEIGHT, MAP_WIDTH } from './worldMap.js';

/**
 * The world map as inline SVG: one path per country (`data-cc` holds its code, which the page's script colours by
 * the filtered bytes), drawn from Natural Earth shapes so the page needs no map tiles.
 */
export function renderMap(): string {
  const paths = countryShapes()
    .map(
      (c) =>
        `<path data-cc="${escapeHtml(c.code)}" class="c0" d="${c.d}"><title>${escapeHtml(c.name)}</title></path>`,
    )
    .join('');
  return (
    `<svg id="map" viewBox="0 0 ${MAP_WIDTH} ${MAP_HEIGHT}" width="${MAP_WIDTH}" height="${MAP_HEIGHT}" role="img" ` +
    `aria-labelledby="map-title"><title id="map-title">World map of remote peers, coloured by bytes</title>${paths}</svg>`
  );
}
