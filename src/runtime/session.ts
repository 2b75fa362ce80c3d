/**
 * The one door to the engine. Everything else hands HostTensors in and gets HostTensors out; only the files
 * in runtime/ know onnxruntime. onnxruntime-node and onnxruntime-web share this API (onnxruntime-common),
 * so the same Session runs natively and in browsers.
 */
import type { InferenceSession, Tensor } from "onnxruntime-common";
import { type DType, type HostTensor, StagingArrays, type TensorData } from "../tensor/host-tensor.ts";

export interface SessionOptions {
  /** Intra-op threads; default: all cores (0 lets onnxruntime decide). */
  threads?: number;
  /**
   * Spin-waiting threads: fastest for one session alone, but two spinning pools on two cores slow each other
   * 2-3x (docs/training-graphs.md), so turn it off when other work runs beside the session.
   */
  spinning?: boolean;
  /** Graph optimisation level (default: all). */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /** Write onnxruntime's per-kernel profile (JSON) to files starting with this prefix; see endProfiling. */
  profilePrefix?: string;
}

/**
 * The parts of an onnxruntime module (node or web) this door uses. Typed loosely on purpose: this interface is in
 * our published declarations, and onnxruntime-common's own types need the DOM's (ImageData, WebGL), which a
 * Node-only TypeScript project does not have. Inside, Session holds them as onnxruntime-common's types.
 */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: object): Promise<unknown>;
  };
  Tensor: new (type: any, data: any, dims: readonly number[]) => unknown;
}

const ORT_TYPE: Partial<Record<DType, string>> = {
  float32: "float32",
  int64: "int64",
  int32: "int32",
  uint8: "uint8",
  bool: "bool",
  float16: "float16",
  float64: "float64",
};

/**
 * An onnxruntime failure as one line naming what was running: its messages span lines and name only its own
 * nodes and source files.
 */
export function engineError(e: unknown, source: string, what: string): Error {
  const first = (e instanceof Error ? e.message : String(e)).trim().split("\n")[0];
  return new Error(`${source}: cannot run ${what}: ${first}`);
}

/** What runs a graph: a Session here, or one living on another thread (worker-session-node.ts). */
export interface RunnableSession {
  run(feeds: Record<string, HostTensor>, fetches?: readonly string[]): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export class Session implements RunnableSession {
  private readonly staging = new StagingArrays(false);

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
  ) {}

  static async create(ort: OrtModule, model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const options: InferenceSession.SessionOptions = {
      graphOptimizationLevel: opts.optimization ?? "all",
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: "sequential",
      // Fatal only: onnxruntime's own (coloured) log lines must not reach the user; its errors still arrive as
      // exceptions, which the caller words.
      logSeverityLevel: 4,
      enableCpuMemArena: true, // turning the arena off made training steps 5.5x slower
      extra: { session: { "intra_op.allow_spinning": opts.spinning === false ? "0" : "1" } },
      ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
    };
    return new Session(ort, (await ort.InferenceSession.create(model, options)) as InferenceSession);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(
    feeds: Record<string, HostTensor>,
    fetches?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const type = ORT_TYPE[t.dtype];
      if (!type) throw new Error(`input '${name}': dtype ${t.dtype} is not supported by the runtime`);
      ortFeeds[name] = new this.ort.Tensor(type, this.unshared(name, t.data), t.dims) as Tensor;
    }
    const result = fetches
      ? await this.session.run(ortFeeds, fetches as string[])
      : await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = { dtype: t.type as DType, dims: [...t.dims], data: t.data as TensorData };
    }
    return out;
  }

  /**
   * onnxruntime's Node binding cannot read a SharedArrayBuffer (parameters that data-parallel workers share),
   * so such a feed is copied into an ordinary array kept per input name and reused on every run.
   */
  private unshared(name: string, data: TensorData): TensorData {
    if (typeof SharedArrayBuffer === "undefined" || !(data.buffer instanceof SharedArrayBuffer)) return data;
    return this.staging.copy(name, data);
  }

  /** Ends profiling (SessionOptions.profilePrefix) and flushes the profile file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
