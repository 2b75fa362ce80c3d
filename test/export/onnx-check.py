"""Runs onnx.checker.check_model(full_check=True) on each ONNX file named; prints one line per file.

The onnx package may predate opset 18 (Debian 12 ships 1.12, which knows 17). Then the check runs on a copy
with opset 18's only change our graphs use undone: Reduce* take their axes as an attribute, not an input.
Everything else the checker looks at (value infos, types and shapes, SSA, strict shape inference) is unchanged.
"""
import sys

import onnx
from onnx import helper, numpy_helper


def as_opset17(model):
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type.startswith("Reduce") and len(node.input) == 2:
            axes = numpy_helper.to_array(inits[node.input[1]]).tolist()
            del node.input[1]
            node.attribute.append(helper.make_attribute("axes", axes))
    used = {i for n in model.graph.node for i in n.input}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    for o in model.opset_import:
        if o.domain == "":
            o.version = 17
    return model


failed = False
for path in sys.argv[1:]:
    model = onnx.load(path)
    how = "as is"
    if onnx.defs.onnx_opset_version() < 18:
        model, how = as_opset17(model), "opset-17 copy"
    try:
        onnx.checker.check_model(model, full_check=True)
        print(f"{path}: ok ({how}, onnx {onnx.__version__})")
    except Exception as e:  # noqa: BLE001 - the checker raises several types
        failed = True
        print(f"{path}: {str(e).splitlines()[0]}")
sys.exit(1 if failed else 0)
