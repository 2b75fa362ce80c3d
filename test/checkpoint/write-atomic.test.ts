// Atomic writes: a group is renamed in order; a failure leaves no temp file and says which file; stale temp
// files of dead writers are removed, a live writer's (and anything not ours) is kept; SIGINT/SIGTERM mid-write
// removes the temp files unless the program handles the signal itself.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { deadPid, tempDir } from "../helpers.ts";
import {
  removeStaleTemps,
  tempPathFor,
  writeFileAtomic,
  writeFilesAtomic,
} from "../../src/checkpoint/write-atomic-node.ts";

const tmp = tempDir("convnext-atomic-");

test("stale temp files of dead writers are removed; a live writer's and other files are kept", async () => {
  const dir = join(tmp, "stale");
  mkdirSync(dir);
  const dead = deadPid();
  const names = {
    deadCkpt: `.checkpoint.safetensors.${dead}.0123456789ab.tmp`,
    deadModel: `.model.safetensors.${dead}.ba9876543210.tmp`,
    live: `.checkpoint.safetensors.${process.pid}.00000000ffff.tmp`,
    notOurs: ".checkpoint.safetensors.tmp",
    partial: "weights.pth.part",
    target: "checkpoint.safetensors",
  };
  for (const n of Object.values(names)) writeFileSync(join(dir, n), "x".repeat(1000));
  const onlyModel = await removeStaleTemps(dir, ["model.safetensors"]);
  assert.deepEqual(onlyModel.files, [join(dir, names.deadModel)]);
  const all = await removeStaleTemps(dir);
  assert.deepEqual(all, { files: [join(dir, names.deadCkpt)], bytes: 1000 });
  assert.deepEqual(readdirSync(dir).sort(), [names.live, names.notOurs, names.partial, names.target].sort());
  assert.deepEqual(await removeStaleTemps(join(tmp, "no-such-dir")), { files: [], bytes: 0 });
  // The temp names this process makes are the ones recognised.
  const mine = tempPathFor(join(dir, "x.bin"));
  assert.match(mine, new RegExp(`/\\.x\\.bin\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
});

test("a write removes stale temp files of its own target first", async () => {
  const dir = join(tmp, "own");
  mkdirSync(dir);
  const stale = `.out.bin.${deadPid()}.0123456789ab.tmp`;
  const other = `.other.bin.${deadPid()}.0123456789ab.tmp`;
  writeFileSync(join(dir, stale), "old");
  writeFileSync(join(dir, other), "old");
  await writeFileAtomic(join(dir, "out.bin"), Uint8Array.of(7));
  assert.deepEqual(readdirSync(dir).sort(), [other, "out.bin"].sort());
});

test("a group is renamed in order: a failure at the second file keeps the first new and the second old", async () => {
  const dir = join(tmp, "group");
  mkdirSync(dir);
  const first = join(dir, "first.bin");
  const second = join(dir, "second");
  await writeFilesAtomic([
    { path: first, bytes: Uint8Array.of(1) },
    { path: join(dir, "third.bin"), bytes: () => Uint8Array.of(3) },
  ]);
  assert.deepEqual(readFileSync(join(dir, "third.bin")), Buffer.of(3));
  // A non-empty directory cannot be renamed over: the second rename fails after the first was done.
  mkdirSync(second);
  writeFileSync(join(second, "keep"), "x");
  await assert.rejects(
    writeFilesAtomic([
      { path: first, bytes: Uint8Array.of(2) },
      { path: second, bytes: Uint8Array.of(2) },
    ]),
    (e: Error) => {
      assert.match(e.message, /^cannot write .*second: /);
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
  assert.deepEqual(readFileSync(first), Buffer.of(2));
  assert.deepEqual(readdirSync(dir).sort(), ["first.bin", "second", "third.bin"]);
});

// The second file's bytes are made while the first one's temp file exists; the signal arrives then.
async function interruptedWrite(signal: "SIGINT" | "SIGTERM", ownHandler: boolean) {
  const dir = mkdtempSync(join(tmp, "signal-"));
  const module = pathToFileURL(join(import.meta.dirname, "../../src/checkpoint/write-atomic-node.ts")).href;
  const script = `
    import { writeFilesAtomic } from ${JSON.stringify(module)};
    ${ownHandler ? `process.on(${JSON.stringify(signal)}, () => console.log("handled"));` : ""}
    await writeFilesAtomic([
      { path: ${JSON.stringify(join(dir, "a.bin"))}, bytes: new Uint8Array(1000) },
      { path: ${JSON.stringify(join(dir, "b.bin"))}, bytes: () => {
        process.kill(process.pid, ${JSON.stringify(signal)});
        return new Uint8Array(1000);
      } },
    ]);
    console.log("written");
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  return { r, files: readdirSync(dir).sort() };
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(`${signal} while a group is written: no temp file left, the process dies of the signal`, async () => {
    const { r, files } = await interruptedWrite(signal, false);
    assert.equal(r.signal, signal, r.stderr);
    assert.deepEqual(files, []);
  });
}

test("SIGINT with a handler of the program's own: the write finishes and the handler decides", async () => {
  const { r, files } = await interruptedWrite("SIGINT", true);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "handled\nwritten\n");
  assert.deepEqual(files, ["a.bin", "b.bin"]);
});
