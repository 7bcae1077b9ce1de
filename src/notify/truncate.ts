/**
 * Shortens `text` to at most `maxLength` UTF-16 code units, ending in `…` when cut. Never splits a surrogate
 * pair, and never leaves half an HTML entity (`&amp;`), which Slack would show as garbage.
 */
export function truncate(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  if (maxLength <= 0) return '';
  let cut = maxLength - 1;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  const amp = text.lastIndexOf('&', cut - 1);
  if (amp !== -1 && cut - amp <= 5 && !text.slice(amp, cut).includes(';')) {
    const entityEnd = text.indexOf(';', amp);
    // Only step back over a real entity; a bare `&` (already escaped input never has one) is fine to keep.
    if (entityEnd !== -1 && entityEnd - amp <= 5) cut = amp;
  }
  return `${text.slice(0, cut)}…`;
}
