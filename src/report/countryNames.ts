import countries from 'i18n-iso-countries';

/** The English name of an ISO 3166-1 alpha-2 code (`US` → `United States of America`), or the code itself. */
export function countryName(code: string): string {
  return countries.getName(code, 'en') ?? code;
}

/** The alpha-2 code of an ISO 3166-1 numeric code (`840` → `US`), as world-atlas keys its countries. */
export function numericToAlpha2(numeric: string): string | undefined {
  return countries.numericToAlpha2(numeric);
}
