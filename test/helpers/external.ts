/**
 * Tests that need a program from Debian (chromium, mosquitto, redis-server) skip only
 * outside CI, saying why; in CI (CI=true) a missing program is a failure.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/**
 * Returns a skip reason, or false when the program is there (pass it as node:test's
 * `skip` option, which prints the reason). Throws in CI, where a missing program is a failure.
 */
export function needProgram(path: string, pkg = path.split('/').pop()!): string | false {
  if (existsSync(path)) return false;
  const why = `${path} not found (apt-get install -y ${pkg})`;
  if (process.env.CI === 'true') throw new Error(`CI needs ${why}`);
  process.stdout.write(`# skipping: ${why}\n`);
  return why;
}

export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium with the flags this machine needs (plus `extraArgs`) and a fresh profile. */
export async function launchChromium(extraArgs: string[] = []): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'swarmlet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
