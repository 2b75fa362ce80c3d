// The command line's error conventions as functions: the one line, the exit code, the file convention, and
// the version lookup from source and compiled layouts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { CommanderError, InvalidArgumentError } from "commander";
import { errorLine, exitCodeOf, UsageError, withFile } from "../../src/cli/errors.ts";
import { packageVersion } from "../../src/cli/version.ts";
import { REPO_ROOT } from "../fixtures.ts";

test("engine limits become one line naming the file the error carries", async () => {
  const overflow = await withFile("deep.pth", async () => {
    throw new RangeError("Maximum call stack size exceeded");
  }).catch((e) => e);
  assert.equal(errorLine(overflow), "deep.pth: nested too deeply to read (Maximum call stack size exceeded)");
  assert.equal(exitCodeOf(overflow), 1);
  const big = Object.assign(new RangeError("Invalid array buffer length"), { file: "big.safetensors" });
  assert.equal(errorLine(big), "big.safetensors: too large to hold in memory (Invalid array buffer length)");
  // Without a file the problem is still said, on one line.
  assert.equal(
    errorLine(new RangeError("Array buffer allocation failed")),
    "too large to hold in memory (Array buffer allocation failed)",
  );
});

test("a file is named once: messages that start with it are left alone, and withFile keeps the first file", async () => {
  const named = await withFile("a.pth", async () => {
    throw new Error("a.pth: not a zip file");
  }).catch((e) => e);
  assert.equal(errorLine(named), "a.pth: not a zip file");
  const inner = await withFile("outer.jpg", () =>
    withFile("inner.pth", async () => {
      throw new Error("bad magic");
    }),
  ).catch((e) => e);
  assert.equal(errorLine(inner), "inner.pth: bad magic");
  assert.equal(errorLine("a thrown string"), "a thrown string");
});

test("usage errors exit 2 without commander's 'error:' prefix; --help and --version exit 0 silently", () => {
  const unknown = new CommanderError(1, "commander.unknownOption", "error: unknown option '--x'");
  assert.equal(errorLine(unknown), "unknown option '--x'");
  assert.equal(exitCodeOf(unknown), 2);
  const invalid = new CommanderError(
    1,
    "commander.invalidArgument",
    "error: option '--top <k>' argument 'x' is invalid. --top must be a positive integer, got 'x'",
  );
  assert.equal(errorLine(invalid), "--top must be a positive integer, got 'x'");
  assert.equal(exitCodeOf(new UsageError("--outputs: unknown output 'foo'")), 2);
  assert.equal(exitCodeOf(new InvalidArgumentError("bad")), 2);
  const help = new CommanderError(0, "commander.helpDisplayed", "(outputHelp)");
  assert.equal(errorLine(help), undefined);
  assert.equal(exitCodeOf(help), 0);
  assert.equal(exitCodeOf(new Error("cannot read x")), 1);
});

test("the version comes from package.json from the source tree and from a compiled dist/ layout", () => {
  const version = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;
  assert.equal(packageVersion(), version);
  assert.equal(packageVersion(pathToFileURL(join(REPO_ROOT, "dist", "cli", "version.js")).href), version);
  assert.throws(() => packageVersion("file:///no/such/dir/version.js"), /no package\.json of convnext above/);
});

test("an error stays one line: control characters of a file name are escaped, commander's hint joins the line", () => {
  const e = Object.assign(new Error("cannot read the checkpoint (bad)"), {
    file: "weird/bad\nname\t.safetensors",
  });
  assert.equal(errorLine(e), "weird/bad\\nname\\t.safetensors: cannot read the checkpoint (bad)");
  const unknown = new CommanderError(
    2,
    "commander.unknownOption",
    "error: unknown option '--tpo'\n(Did you mean --top?)",
  );
  assert.equal(errorLine(unknown), "unknown option '--tpo' (Did you mean --top?)");
});
