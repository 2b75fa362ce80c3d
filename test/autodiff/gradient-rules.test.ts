// Every gradient rule in the registry, checked against central finite differences in a random direction.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CheckCase, checkGradient } from "../../src/autodiff/check.ts";
import { addGradients } from "../../src/autodiff/grad.ts";
import { f, Graph } from "../../src/graph/graph.ts";
import { toOnnxBytes } from "../../src/graph/onnx.ts";
import { gelu, grn } from "../../src/models/convnext.ts";
import { GELU_OP, GELU_SCALED_OP, geluComposite, geluScaledComposite } from "../../src/ops/gelu.ts";
import { OPS } from "../../src/ops/index.ts";
import { i64 } from "../../src/ops/types.ts";
import { createSession } from "../../src/runtime/session-node.ts";
import { float32 } from "../../src/tensor/host-tensor.ts";

const X = (dims: number[], positive?: boolean) => ({ name: "x", dims, positive });
const W = (dims: number[], positive?: boolean) => ({ name: "w", dims, positive });
const B = (dims: number[]) => ({ name: "b", dims });
const unary = (op: string, dims: number[], positive?: boolean): CheckCase => ({
  inputs: [X(dims, positive)],
  build: (g, [x]) => g.op(op, [x]),
});
const binary = (op: string, a: number[], b: number[], positive?: boolean): CheckCase => ({
  inputs: [X(a), W(b, positive)],
  build: (g, [x, w]) => g.op(op, [x, w]),
});
const conv = (
  x: number[],
  w: number[],
  attrs: Record<string, number | number[]>,
  bias = true,
): CheckCase => ({
  inputs: bias ? [X(x), W(w), B([w[0]])] : [X(x), W(w)],
  build: (g, ins) => g.op("Conv", ins, attrs),
});

/** Cases per op; each op with a gradient rule must appear here (checked below). */
const CASES: Record<string, [string, CheckCase][]> = {
  Add: [["broadcast", binary("Add", [2, 3, 4], [3, 1])]],
  Sub: [["broadcast", binary("Sub", [2, 3], [1, 3])]],
  Mul: [["broadcast", binary("Mul", [2, 3, 4], [4])]],
  Div: [["broadcast", binary("Div", [2, 3], [3], true)]],
  Neg: [["", unary("Neg", [5])]],
  Identity: [["", unary("Identity", [5])]],
  Erf: [["", unary("Erf", [2, 5])]],
  Exp: [["", unary("Exp", [2, 5])]],
  Log: [["", unary("Log", [6], true)]],
  Sqrt: [["", unary("Sqrt", [6], true)]],
  Reciprocal: [["", unary("Reciprocal", [6], true)]],
  Relu: [["", { ...unary("Relu", [3, 7]), eps: 1e-3 }]],
  Transpose: [
    ["", { inputs: [X([2, 3, 4])], build: (g, [x]) => g.op("Transpose", [x], { perm: [2, 0, 1] }) }],
  ],
  Reshape: [["", { inputs: [X([2, 6])], build: (g, [x]) => g.op("Reshape", [x, i64(g, [3, -1])]) }]],
  Flatten: [["", { inputs: [X([2, 3, 2])], build: (g, [x]) => g.op("Flatten", [x], { axis: 1 }) }]],
  Unsqueeze: [["", { inputs: [X([2, 3])], build: (g, [x]) => g.op("Unsqueeze", [x, i64(g, [1])]) }]],
  Squeeze: [["", { inputs: [X([2, 1, 3])], build: (g, [x]) => g.op("Squeeze", [x, i64(g, [1])]) }]],
  Slice: [
    [
      "window",
      {
        inputs: [X([4, 5])],
        build: (g, [x]) => g.op("Slice", [x, i64(g, [1, 1]), i64(g, [3, 4]), i64(g, [0, 1])]),
      },
    ],
    [
      "flip",
      {
        inputs: [X([3, 4])],
        build: (g, [x]) =>
          g.op("Slice", [x, i64(g, [-1]), i64(g, [Number.MIN_SAFE_INTEGER]), i64(g, [1]), i64(g, [-1])]),
      },
    ],
  ],
  Pad: [["", { inputs: [X([2, 3])], build: (g, [x]) => g.op("Pad", [x, i64(g, [1, 0, 0, 2])]) }]],
  Concat: [
    ["", { inputs: [X([2, 3]), W([2, 2])], build: (g, [x, w]) => g.op("Concat", [x, w], { axis: 1 }) }],
  ],
  ReduceSum: [
    ["", { inputs: [X([2, 3, 4])], build: (g, [x]) => g.op("ReduceSum", [x, i64(g, [1])], { keepdims: 0 }) }],
  ],
  ReduceMean: [
    [
      "",
      { inputs: [X([2, 3, 4])], build: (g, [x]) => g.op("ReduceMean", [x, i64(g, [0, 2])], { keepdims: 1 }) },
    ],
  ],
  ReduceL2: [
    [
      "",
      { inputs: [X([2, 3, 4])], build: (g, [x]) => g.op("ReduceL2", [x, i64(g, [1, 2])], { keepdims: 1 }) },
    ],
  ],
  MatMul: [
    ["weight", binary("MatMul", [2, 3, 4], [4, 5])],
    ["batched", binary("MatMul", [2, 3, 4], [2, 4, 2])],
  ],
  Gemm: [
    ...[0, 1].flatMap((ta) =>
      [0, 1].map((tb): [string, CheckCase] => [
        `transA=${ta} transB=${tb}`,
        {
          inputs: [X(ta ? [4, 3] : [3, 4]), W(tb ? [5, 4] : [4, 5]), B([5])],
          build: (g, [x, w, b]) => g.op("Gemm", [x, w, b], { transA: ta, transB: tb }),
        },
      ]),
    ),
  ],
  Conv: [
    ["3x3 pad 1", conv([2, 3, 6, 6], [4, 3, 3, 3], { pads: [1, 1, 1, 1] })],
    ["patchify 4x4/4", conv([2, 3, 9, 9], [5, 3, 4, 4], { strides: [4, 4] })],
    ["depthwise 7x7", conv([2, 4, 5, 5], [4, 1, 7, 7], { pads: [3, 3, 3, 3], group: 4 })],
    ["depthwise 3x3 wide map", conv([2, 3, 4, 7], [3, 1, 3, 3], { pads: [1, 1, 1, 1], group: 3 })],
    ["depthwise 3x3 very wide map", conv([1, 2, 3, 50], [2, 1, 3, 3], { pads: [1, 1, 1, 1], group: 2 })],
    [
      "grouped 3x3/2",
      conv([1, 4, 7, 7], [6, 2, 3, 3], { pads: [1, 1, 1, 1], strides: [2, 2], group: 2 }, false),
    ],
    ["7x7/2 pad 3 odd input", conv([1, 2, 9, 11], [3, 2, 7, 7], { pads: [3, 3, 3, 3], strides: [2, 2] })],
    ["1x1/2", conv([1, 3, 5, 5], [2, 3, 1, 1], { strides: [2, 2] }, false)],
  ],
  LayerNormalization: [
    [
      "last axis",
      {
        inputs: [X([2, 3, 5]), W([5], true), B([5])],
        build: (g, ins) => g.add("LayerNormalization", ins, { axis: -1, epsilon: f(1e-6) }, 3)[0],
      },
    ],
    [
      "no affine part: the output is reused as x̂",
      {
        inputs: [X([2, 3, 5])],
        build: (g, [x]) => {
          const ones = g.constant(float32([5], new Float32Array(5).fill(1)), "ones");
          return g.add("LayerNormalization", [x, ones], { axis: -1, epsilon: f(1e-6) }, 3)[0];
        },
      },
    ],
  ],
  LogSoftmax: [["", { inputs: [X([3, 5])], build: (g, [x]) => g.op("LogSoftmax", [x], { axis: -1 }) }]],
  Softmax: [["", { inputs: [X([3, 5])], build: (g, [x]) => g.op("Softmax", [x], { axis: -1 }) }]],
  [GELU_OP]: [
    ["composite with its own rule", { inputs: [X([3, 7])], build: (g, [x]) => geluComposite(g, x) }],
  ],
  [GELU_SCALED_OP]: [["in u = x/√2", { inputs: [X([3, 7])], build: (g, [u]) => geluScaledComposite(g, u) }]],
};

/** Composites that differentiate through their primitives. */
const COMPOSITES: [string, CheckCase][] = [
  ["GELU through its primitives", { inputs: [X([3, 7])], build: (g: Graph, [x]) => gelu(g, x) }],
  [
    "GRN (V2)",
    { inputs: [X([2, 3, 3, 6]), W([6]), B([6])], build: (g: Graph, [x, w, b]) => grn(g, x, w, b) },
  ],
];

test("every op with a gradient rule has a finite-difference case", () => {
  const withRule = Object.entries(OPS)
    .filter(([, def]) => def.grad)
    .map(([op]) => op);
  const missing = withRule.filter((op) => !CASES[op]);
  assert.deepEqual(missing, [], `ops without a gradient check: ${missing.join(", ")}`);
});

for (const [op, cases] of Object.entries(CASES)) {
  for (const [label, c] of cases) {
    test(`gradient of ${op}${label ? ` (${label})` : ""} matches finite differences`, async () => {
      const r = await checkGradient(c, (b) => createSession(b, { threads: 1 }));
      assert.ok(r.relError < 2e-3, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError})`);
    });
  }
}

for (const [label, c] of COMPOSITES) {
  test(`gradient of ${label} matches finite differences`, async () => {
    const r = await checkGradient(c, (b) => createSession(b, { threads: 1 }));
    assert.ok(r.relError < 2e-3, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError})`);
  });
}

test("a dilated Conv's gradient is refused, even when only its weight needs one", () => {
  const g = new Graph("dilated");
  const x = g.input("x", "float32", [1, 2, 9, 9]);
  const w = g.input("w", "float32", [2, 1, 3, 3]);
  const y = g.op("Conv", [x, w], { pads: [2, 2, 2, 2], dilations: [2, 2], group: 2 });
  const loss = g.op("ReduceSum", [y], { keepdims: 0 });
  assert.throws(() => addGradients(g, loss, [w]), /Conv gradient: dilations are not supported/);
});

test("ReduceL2's gradient is 0 over a group whose values are all 0 (as torch.norm's), not NaN", async () => {
  const g = new Graph("l2-zero");
  const x = g.input("x", "float32", [2, 3]);
  const y = g.op("ReduceL2", [x, i64(g, [1])], { keepdims: 1 });
  const grads = addGradients(g, g.op("ReduceSum", [y], { keepdims: 0 }), [x]);
  g.output(g.op("Identity", [grads.get(x) as string], {}, "dx"));
  const session = await createSession(toOnnxBytes(g), { threads: 1 });
  const { dx } = await session.run({ x: float32([2, 3], [0, 0, 0, 3, 0, 4]) });
  await session.release();
  assert.deepEqual(Array.from(dx.data as Float32Array), [0, 0, 0, 0.6000000238418579, 0, 0.800000011920929]);
});
