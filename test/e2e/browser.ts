/**
 * The browser of the e2e tests: Debian's Chromium, driven by playwright-core. Where it is not
 * installed the tests are skipped, saying so (.ci/run installs it).
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  console.warn(
    `[e2e] SKIPPED: no Chromium at ${CHROMIUM}; install Debian's 'chromium' package (as .ci/run does)`,
  );
}

/** Headless, and quiet: no background requests of the browser's own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
