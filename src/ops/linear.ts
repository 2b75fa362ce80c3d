/** MatMul and Gemm: bilinear, so each input's gradient is the output gradient times the other input. */
import { broadcastShapes, type OpDef, reshape, transpose, unbroadcast } from "./types.ts";

const swapLast = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

export const linearOps = {
  MatMul: {
    infer: (_g, _n, [a, b]) => {
      if (b.length === 1 || a.length === 1) throw new Error("MatMul with 1-D operands is not supported");
      if (a[a.length - 1] !== b[b.length - 2]) throw new Error(`MatMul: [${a}] x [${b}]`);
      const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
      return [[...batch, a[a.length - 2], b[b.length - 1]]];
    },
    grad: (g, n, [dy], needs) => {
      if (!dy) return [];
      const [a, b] = n.inputs;
      const sa = g.shape(a);
      const sb = g.shape(b);
      const da = needs[0]
        ? unbroadcast(g, g.op("MatMul", [dy, transpose(g, b, swapLast(sb.length))]), sa)
        : undefined;
      if (!needs[1]) return [da];
      if (sb.length === 2) {
        // A weight shared over all rows: one Gemm with transA over the flattened rows.
        const k = sa[sa.length - 1];
        const m = sb[1];
        const db = g.op("Gemm", [reshape(g, a, [-1, k]), reshape(g, dy, [-1, m])], { transA: 1 });
        return [da, db];
      }
      const db = unbroadcast(g, g.op("MatMul", [transpose(g, a, swapLast(sa.length)), dy]), sb);
      return [da, db];
    },
  },
  // Y = alpha * op(A) op(B) + beta * C, op = optional transpose. Used with alpha = beta = 1.
  Gemm: {
    infer: (_g, n, [a, b]) => {
      const m = n.attrs.transA ? a[1] : a[0];
      const k = n.attrs.transB ? b[0] : b[1];
      return [[m, k]];
    },
    grad: (g, n, [dy], needs) => {
      if (!dy) return [];
      if (((n.attrs.alpha as { f: number } | undefined)?.f ?? 1) !== 1)
        throw new Error("Gemm gradient: alpha must be 1");
      const [a, b, c] = n.inputs;
      const tA = !!n.attrs.transA;
      const tB = !!n.attrs.transB;
      // dA = dY op(B)^T (transposed back if A was transposed); dB likewise.
      const da = !needs[0]
        ? undefined
        : tA
          ? g.op("Gemm", [b, dy], { transA: tB ? 1 : 0, transB: 1 })
          : g.op("Gemm", [dy, b], { transB: tB ? 0 : 1 });
      const db = !needs[1]
        ? undefined
        : tB
          ? g.op("Gemm", [dy, a], { transA: 1, transB: tA ? 1 : 0 })
          : g.op("Gemm", [a, dy], { transA: tA ? 0 : 1 });
      const grads: (string | undefined)[] = [da, db];
      if (c && needs[2]) grads.push(unbroadcast(g, dy, g.shape(c)));
      return grads;
    },
  },
} satisfies Record<string, OpDef>;
