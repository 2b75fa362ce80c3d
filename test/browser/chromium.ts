// Headless Chromium for the browser tests: Debian's chromium-headless-shell, driven by puppeteer-core (nothing
// is downloaded). Absent browser: the tests skip with a message, except in CI (CI=true), where that is a failure.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

const CANDIDATES = [
  process.env.CONVNEXT_CHROMIUM,
  "/usr/bin/chromium-headless-shell",
  "/usr/lib/chromium/chromium-headless-shell",
  "/usr/bin/chromium",
].filter((p): p is string => Boolean(p));

export const CHROMIUM = CANDIDATES.find((p) => existsSync(p));

/** Why the browser tests cannot run here, or undefined when they can; throws in CI. */
export function skipReason(): string | undefined {
  if (CHROMIUM) return undefined;
  const why = `no Chromium found (tried ${CANDIDATES.join(", ")}); install Debian's chromium-headless-shell`;
  if (process.env.CI === "true") throw new Error(`browser tests cannot run in CI: ${why}`);
  return `${why} to run the browser tests`;
}

export interface Chromium {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "convnext-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-gpu",
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page whose console errors and uncaught exceptions are collected (a failing test shows them). */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, errors };
}
