/**
 * Headless Chromium for the report tests: Debian's /usr/bin/chromium driven by playwright-core (no browser
 * download), with the background services that would otherwise reach the network switched off.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where `.ci/run` installs Debian's chromium. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** True when the browser can be started here. */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** Starts headless Chromium; the caller closes it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--no-first-run',
    ],
  });
}
