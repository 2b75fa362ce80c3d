import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/train/rng.ts";

function draws(r: Rng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.uniform(), r.normal(), r.int(1000), r.beta(0.8, 0.8));
  return out;
}

test("saved state continues the identical sequence (cached normal included)", () => {
  const a = new Rng(1234);
  draws(a, 10);
  if (a.getState().spareNormal === null) a.normal(); // leave a cached second normal in the state
  const saved = JSON.parse(JSON.stringify(a.getState()));
  assert.notEqual(saved.spareNormal, null);
  const expected = draws(a, 100);
  assert.deepEqual(draws(Rng.fromState(saved), 100), expected);
  const b = new Rng(99);
  b.setState(saved);
  assert.deepEqual(draws(b, 100), expected);
  assert.throws(() => b.setState({ s: [0, 0, 0, 0], spareNormal: null }), /all zero/);
});

test("seeds and keys select different streams; the same ones repeat", () => {
  assert.deepEqual(draws(new Rng(7, 1, 2), 5), draws(new Rng(7, 1, 2), 5));
  assert.notDeepEqual(draws(new Rng(7, 1, 2), 5), draws(new Rng(7, 2, 1), 5));
  assert.notDeepEqual(draws(new Rng(7), 5), draws(new Rng(8), 5));
  const parent = new Rng(5);
  const before = parent.getState();
  assert.deepEqual(draws(parent.fork(1), 5), draws(new Rng(5).fork(1), 5));
  assert.notDeepEqual(draws(parent.fork(1), 5), draws(parent.fork(2), 5));
  assert.deepEqual(parent.getState(), before, "fork does not advance the parent");
});

test("distributions: uniform, normal, int, gamma and beta moments", () => {
  const r = new Rng(42);
  const n = 200_000;
  let su = 0;
  let sn = 0;
  let sn2 = 0;
  const hist = new Array(6).fill(0);
  let sb = 0;
  let sb2 = 0;
  let sg = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = r.normal();
    sn += z;
    sn2 += z * z;
    hist[r.int(6)]++;
    const b = r.beta(0.8, 0.8);
    assert.ok(b >= 0 && b <= 1);
    sb += b;
    sb2 += b * b;
    sg += r.gamma(2.5);
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.005);
  assert.ok(Math.abs(sn / n) < 0.01);
  assert.ok(Math.abs(sn2 / n - 1) < 0.015);
  for (const h of hist) assert.ok(Math.abs(h / n - 1 / 6) < 0.005);
  // Beta(a, a): mean 1/2, variance 1/(4(2a+1)) = 1/10.4 at a = 0.8
  const mb = sb / n;
  assert.ok(Math.abs(mb - 0.5) < 0.005);
  assert.ok(Math.abs(sb2 / n - mb * mb - 1 / (4 * 2.6)) < 0.003);
  assert.ok(Math.abs(sg / n - 2.5) < 0.03); // Gamma(k, 1) mean k
});

test("shuffle is a permutation and depends on the seed", () => {
  const p = new Rng(3).permutation(1000);
  assert.deepEqual(
    Array.from(p).sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.notDeepEqual(p, new Rng(4).permutation(1000));
  assert.throws(() => new Rng(1).int(0), /positive integer/);
});
