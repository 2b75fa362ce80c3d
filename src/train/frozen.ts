/**
 * A Trainable whose chosen parameters are frozen: they become constants of the step graph (initializers), so the
 * step takes no gradient for them and the backward pass stops where nothing trainable lies behind it. Fine-tuning
 * only the head this way costs about one forward pass per step instead of a full backward one.
 */
import type { Float32Tensor } from "../tensor/host-tensor.ts";
import type { Trainable } from "./trainable.ts";

export function freezeParams(model: Trainable, frozen: ReadonlyMap<string, Float32Tensor>): Trainable {
  return {
    numClasses: model.numClasses,
    depths: model.depths,
    buildTraining(batchShape, layout) {
      const fwd = model.buildTraining(batchShape, layout);
      const g = fwd.graph;
      for (const [name, value] of frozen) {
        const at = g.inputs.findIndex((i) => i.name === name);
        if (at < 0 || !fwd.params.has(name)) throw new Error(`cannot freeze '${name}': not a parameter`);
        g.inputs.splice(at, 1);
        // The name is already the graph's value: set its contents directly rather than minting a fresh one.
        g.initializers.set(name, value);
      }
      const params = new Map([...fwd.params].filter(([name]) => !frozen.has(name)));
      return { ...fwd, params };
    },
  };
}
