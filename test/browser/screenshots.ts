// Screenshots of test pages: into a temporary folder, and also into $CONVNEXT_SCREENSHOTS when set (how
// docs/browser/ is made: `CONVNEXT_SCREENSHOTS=docs/browser npm run test:browser`).
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "puppeteer-core";

const TEMP = mkdtempSync(join(tmpdir(), "convnext-screens-"));

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const path = join(TEMP, name);
  await page.screenshot({ path: path as `${string}.png`, fullPage: true });
  const keep = process.env.CONVNEXT_SCREENSHOTS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    await page.screenshot({ path: join(keep, name) as `${string}.png`, fullPage: true });
  }
  return path;
}
