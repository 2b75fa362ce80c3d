// Screenshots of test pages: into a temporary folder, and also into $CONVNEXT_SCREENSHOTS when set (how
// docs/browser/ is made: `CONVNEXT_SCREENSHOTS=docs/browser npm run test:browser`).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ElementHandle, Page } from "puppeteer-core";
import { tempDir } from "../helpers.ts";

const TEMP = tempDir("convnext-screens-");

/** The whole page, or one element of it. */
export async function saveScreenshot(what: Page | ElementHandle, name: string): Promise<string> {
  const shoot = (path: string) =>
    "goto" in what
      ? what.screenshot({ path: path as `${string}.png`, fullPage: true })
      : what.screenshot({ path: path as `${string}.png` });
  const path = join(TEMP, name);
  await shoot(path);
  const keep = process.env.CONVNEXT_SCREENSHOTS;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    await shoot(join(keep, name));
  }
  return path;
}
