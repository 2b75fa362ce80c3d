// The ONNX checker's rules that can be checked without op schemas (onnx/checker.cc, IR.md), for tests of
// exported files: returns one line per violation, empty when the model passes.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** The newest default-domain opset each IR version may import (onnx/helper.py VERSION_TABLE). */
const MAX_OPSET_OF_IR: Record<number, number> = { 7: 14, 8: 18, 9: 20, 10: 22, 11: 23 };
/** TensorProto.DataType → bytes per element, for the types our graphs use. */
const ELEM_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 16: 2 };

export function onnxRuleViolations(bytes: Uint8Array): string[] {
  const bad: string[] = [];
  const m = onnx.ModelProto.decode(bytes);
  const ir = Number(m.irVersion ?? 0);
  const opsets = new Map((m.opsetImport ?? []).map((o) => [o.domain ?? "", Number(o.version)]));
  const opset = opsets.get("");
  if (opset === undefined) bad.push("no opset_import for the default domain");
  else if (!(opset <= (MAX_OPSET_OF_IR[ir] ?? 0)))
    bad.push(`opset ${opset} is newer than IR version ${ir} allows`);
  if (!m.producerName) bad.push("producer_name is empty");
  if (!m.producerVersion) bad.push("producer_version is empty");
  const keys = (m.metadataProps ?? []).map((p) => p.key ?? "");
  for (const k of new Set(keys.filter((k, i) => keys.indexOf(k) !== i)))
    bad.push(`metadata_props key '${k}' repeats`);

  const g = m.graph;
  if (!g) return [...bad, "no graph"];
  if (!g.name) bad.push("graph has no name");
  for (const [what, list] of [
    ["input", g.input ?? []],
    ["output", g.output ?? []],
  ] as const) {
    for (const v of list) {
      const t = v.type?.tensorType;
      if (!v.name) bad.push(`graph ${what} without a name`);
      if (!t?.elemType) bad.push(`graph ${what} '${v.name}' has no elem_type`);
      if (!t?.shape) bad.push(`graph ${what} '${v.name}' has no shape`);
      for (const [i, d] of (t?.shape?.dim ?? []).entries()) {
        if (!d.dimParam && !(Number(d.dimValue ?? 0) > 0))
          bad.push(`graph ${what} '${v.name}' dim ${i} has neither a value nor a name`);
      }
    }
  }

  // Static single assignment, in topological order: every value defined once, before it is read.
  const defined = new Set<string>();
  const define = (name: string, by: string) => {
    if (defined.has(name)) bad.push(`'${name}' (${by}) is defined more than once`);
    defined.add(name);
  };
  for (const v of g.input ?? []) define(v.name ?? "", "graph input");
  for (const t of g.initializer ?? []) {
    define(t.name ?? "", "initializer");
    const n = (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
    const size = ELEM_BYTES[t.dataType ?? 0];
    if (size === undefined) bad.push(`initializer '${t.name}' has data type ${t.dataType}`);
    else if ((t.rawData?.length ?? 0) !== n * size)
      bad.push(`initializer '${t.name}' holds ${t.rawData?.length} bytes for ${n} elements`);
  }
  const nodeNames = new Set<string>();
  for (const n of g.node ?? []) {
    if (!n.name) bad.push(`a ${n.opType} node has no name`);
    else if (nodeNames.has(n.name)) bad.push(`node name '${n.name}' repeats`);
    nodeNames.add(n.name ?? "");
    if (!opsets.has(n.domain ?? ""))
      bad.push(`node '${n.name}' uses domain '${n.domain}' without an opset_import`);
    for (const i of n.input ?? [])
      if (i !== "" && !defined.has(i)) bad.push(`node '${n.name}' reads '${i}' before it is defined`);
    for (const o of n.output ?? []) define(o, `output of node '${n.name}'`);
  }
  for (const v of g.output ?? [])
    if (!defined.has(v.name ?? "")) bad.push(`graph output '${v.name}' is never computed`);
  return bad;
}
