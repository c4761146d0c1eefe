// Debian's chromium through playwright-core, as the browser tests launch it: headless, no network of its own, a
// fresh profile. Missing pieces throw with their names, so a test fails saying what is not there.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { repoRoot } from '../helpers';

export const CHROMIUM = '/usr/bin/chromium';
export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** playwright-core, loaded at run time so the test bundle does not try to inline it. */
export function playwright(): typeof import('playwright-core') {
  try {
    return createRequire(join(repoRoot, 'package.json'))('playwright-core');
  } catch (e) {
    throw new Error(
      `playwright-core is missing (a devDependency: run \`npm ci\` in ${repoRoot}): ${(e as Error).message}`,
    );
  }
}

export async function launchChromium(
  profile: string,
  viewport = { width: 1400, height: 900 },
): Promise<BrowserContext> {
  const pw = playwright();
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is missing: no ${CHROMIUM} (apt-get install -y chromium)`);
  // playwright takes the fresh profile as launchPersistentContext's folder (it refuses --user-data-dir).
  return pw.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: FLAGS,
    headless: true,
    viewport,
    deviceScaleFactor: 2,
    offline: true,
  });
}
