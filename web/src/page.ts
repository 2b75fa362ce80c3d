/** The demo page: wires demo.ts to the controls, and exposes it as `window.demo` for the browser tests. */
import type { RgbImage } from "convnext/browser";
import * as demo from "./demo.ts";
import { featureMapCanvas } from "./feature-maps.ts";
import { decodeImage } from "./images.ts";
import { drawLoss } from "./loss-chart.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function show(text: string, el: HTMLElement, error = false): void {
  el.textContent = text;
  el.classList.toggle("error", error);
}

async function loadModel(load: () => Promise<{ name: string }>): Promise<void> {
  try {
    const { name } = await load();
    show(name, $("model-name"));
    show("", $("model-error"));
    const info = await demo.webRuntimeInfo();
    show(
      `${info.backend.toUpperCase()}, ${info.threads} thread${info.threads > 1 ? "s" : ""}` +
        (info.crossOriginIsolated ? " (cross-origin isolated)" : " (not isolated: one thread)"),
      $("backend"),
    );
  } catch (e) {
    show((e as Error).message, $("model-error"), true);
  }
}

// Classification: each image with its top-5, its time and its four stage maps.
async function classifyFiles(files: readonly File[]): Promise<void> {
  for (const file of files) {
    const row = document.createElement("div");
    row.className = "result";
    const img = document.createElement("img");
    img.src = URL.createObjectURL(file);
    img.alt = file.name;
    row.append(img);
    $("results").prepend(row);
    try {
      const r = await demo.classify(await decodeImage(file));
      const bars = document.createElement("div");
      bars.className = "bars";
      bars.innerHTML = `<strong>${escapeHtml(file.name)}</strong> · ${r.ms.toFixed(1)} ms`;
      for (const p of r.top) {
        const line = document.createElement("div");
        line.innerHTML = `<span class="label">${escapeHtml(p.label)}</span><span class="bar" style="width:${Math.round(
          p.prob * 160,
        )}px"></span><span>${(100 * p.prob).toFixed(1)} %</span>`;
        bars.append(line);
      }
      const maps = document.createElement("div");
      maps.className = "maps";
      r.maps.forEach((m, i) => {
        const fig = document.createElement("figure");
        fig.append(
          featureMapCanvas(m),
          Object.assign(document.createElement("figcaption"), { textContent: `stage ${i}` }),
        );
        maps.append(fig);
      });
      bars.append(maps);
      row.append(bars);
    } catch (e) {
      row.append(
        Object.assign(document.createElement("p"), { className: "error", textContent: (e as Error).message }),
      );
    }
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Fine-tuning: classes, each with its photos.
interface ClassBox {
  name: HTMLInputElement;
  images: RgbImage[];
}
const classes: ClassBox[] = [];

function addClass(name = `class ${classes.length + 1}`): ClassBox {
  const box = document.createElement("div");
  box.className = "class";
  const input = Object.assign(document.createElement("input"), { value: name });
  const pick = Object.assign(document.createElement("input"), {
    type: "file",
    accept: "image/*",
    multiple: true,
  });
  const thumbs = document.createElement("span");
  const entry: ClassBox = { name: input, images: [] };
  const addFiles = async (files: readonly File[]) => {
    for (const f of files) {
      entry.images.push(await decodeImage(f));
      thumbs.append(
        Object.assign(document.createElement("img"), { src: URL.createObjectURL(f), alt: f.name }),
      );
    }
  };
  pick.addEventListener("change", () => addFiles([...(pick.files ?? [])]));
  onDrop(box, addFiles);
  box.append(input, " ", pick, thumbs);
  $("classes").append(box);
  classes.push(entry);
  return entry;
}

let stopRequested = false;
let tuned: Uint8Array | undefined;

async function train(): Promise<void> {
  const used = classes.filter((c) => c.images.length > 0);
  if (used.length < 2) return show("give at least two classes a photo each", $("train-status"), true);
  stopRequested = false;
  $<HTMLButtonElement>("train").disabled = true;
  $<HTMLButtonElement>("stop").disabled = false;
  const losses: number[] = [];
  try {
    const r = await demo.fineTune({
      classes: used.map((c) => c.name.value),
      images: used.flatMap((c) => c.images),
      labels: used.flatMap((c, k) => c.images.map(() => k)),
      train: $<HTMLSelectElement>("train-mode").value === "all" ? "all" : "head",
      steps: Number($<HTMLInputElement>("steps").value) || 30,
      shouldStop: () => stopRequested,
      onStep: (step, loss) => {
        losses.push(loss);
        drawLoss($("loss"), losses);
        show(`step ${step}: loss ${loss.toFixed(4)}`, $("train-status"));
      },
    });
    trained(r);
  } catch (e) {
    show((e as Error).message, $("train-status"), true);
  } finally {
    $<HTMLButtonElement>("train").disabled = false;
    $<HTMLButtonElement>("stop").disabled = true;
  }
}

/** A finished run: its model can be downloaded, or classified with. */
function trained(r: { losses: number[]; weights: Uint8Array; msPerStep: number }): void {
  tuned = r.weights;
  show(`done: ${r.losses.length} steps, ${r.msPerStep.toFixed(0)} ms per step`, $("train-status"));
  $<HTMLButtonElement>("download").disabled = false;
  $<HTMLButtonElement>("use-tuned").disabled = false;
}

function download(bytes: Uint8Array, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/octet-stream" }));
  a.download = name;
  a.click();
}

function onDrop(el: HTMLElement, handle: (files: File[]) => unknown): void {
  el.addEventListener("dragover", (e) => {
    e.preventDefault();
    el.classList.add("over");
  });
  el.addEventListener("dragleave", () => el.classList.remove("over"));
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.classList.remove("over");
    handle([...(e.dataTransfer?.files ?? [])]);
  });
}

/** Wires the controls and loads the bundled model. */
export function start(): void {
  const images = $<HTMLInputElement>("images");
  images.addEventListener("change", () => classifyFiles([...(images.files ?? [])]));
  onDrop($("drop"), classifyFiles);
  const checkpoint = $<HTMLInputElement>("checkpoint");
  checkpoint.addEventListener("change", async () => {
    const file = checkpoint.files?.[0];
    if (file)
      await loadModel(async () => demo.useCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name));
  });
  $("use-bundled").addEventListener("click", () => loadModel(demo.useBundledModel));
  $("add-class").addEventListener("click", () => addClass());
  $("train").addEventListener("click", train);
  $("stop").addEventListener("click", () => {
    stopRequested = true;
  });
  $("download").addEventListener("click", () => tuned && download(tuned, "convnext-finetuned.safetensors"));
  $("use-tuned").addEventListener(
    "click",
    () => tuned && loadModel(() => demo.useCheckpoint(tuned!, "fine-tuned")),
  );
  addClass("class 1");
  addClass("class 2");

  // For the browser tests: the same functions, fed from URLs on the page's own server.
  const bytesOf = async (url: string) => new Uint8Array(await (await fetch(url)).arrayBuffer());
  const imageOf = async (url: string) => decodeImage(await (await fetch(url)).blob());
  const api = {
    ready: loadModel(demo.useBundledModel),
    info: demo.webRuntimeInfo,
    useCheckpointUrl: async (url: string) => demo.useCheckpoint(await bytesOf(url), url),
    useBundledModel: demo.useBundledModel,
    classifyUrls: async (urls: string[]) => {
      const out = [];
      for (const url of urls) {
        const { top, logits, ms } = await demo.classify(await imageOf(url));
        out.push({ top, logits, ms });
      }
      return out;
    },
    /** Fine-tunes on the images, returning the losses and the checkpoint in base64. */
    fineTuneUrls: async (req: {
      classes: string[];
      images: [string, number][];
      train: "head" | "all";
      steps: number;
    }) => {
      const r = await demo.fineTune({
        classes: req.classes,
        images: await Promise.all(req.images.map(([url]) => imageOf(url))),
        labels: req.images.map(([, label]) => label),
        train: req.train,
        steps: req.steps,
        onStep: (_, loss) => {
          api.losses.push(loss);
          drawLoss($("loss"), api.losses);
        },
      });
      trained(r);
      let binary = "";
      for (const b of r.weights) binary += String.fromCharCode(b);
      return { losses: r.losses, msPerStep: r.msPerStep, weights: btoa(binary) };
    },
    losses: [] as number[],
    addClassImages: addClass,
  };
  (window as unknown as { demo: typeof api }).demo = api;
}
