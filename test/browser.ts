// Browser tests run in Debian's Chromium. Where it is missing they skip, except under CI (CI=true):
// there a missing browser must fail the run, not hide the tests.
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

export const skipWithoutChromium = !existsSync(CHROMIUM) && process.env.CI !== 'true';
