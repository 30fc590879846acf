// Browser tests run in Debian's Chromium. Where it is missing they skip, except under CI (CI=true):
// there a missing browser must fail the run, not hide the tests.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const skipWithoutChromium = !existsSync(CHROMIUM) && process.env.CI !== 'true';

/** Headless Chromium that autoplays muted video, offline (no background or component traffic). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
