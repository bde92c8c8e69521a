// Medlight as the app runs it: the shipped worker with the shipped model. Like the app
// (src/ui/model.rs), it starts the relaxed-SIMD build (dist/worker_relaxed_loader.js) where the
// browser validates the probe module of src/relaxed_simd.rs, else dist/worker_loader.js;
// ours-baseline.js forces the latter.
const RELAXED_SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 147, 2, 11]);
const workerUrl = () =>
  globalThis.medlightWorker ?? (WebAssembly.validate(RELAXED_SIMD_PROBE) ? "/worker_relaxed_loader.js" : "/worker_loader.js");
const MODEL = "models/medlight-q8_0.safetensors";
const TOKENIZER = "models/tokenizer.json";

class ModelWorker {
  constructor() {
    this.worker = new Worker(workerUrl());
    this.waiting = new Map();
    this.nextId = 1;
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = ({ data }) => {
        switch (data.kind) {
          case "Started":
            this.worker.postMessage({ kind: "Load", model: MODEL, tokenizer: TOKENIZER });
            break;
          case "Ready":
            resolve();
            break;
          case "Failed":
            reject(new Error(data.message));
            break;
          case "Chunk":
            this.waiting.get(data.id).entities += data.entities.length;
            break;
          case "Finished":
            // `insideMs`: the worker's own time for the request, without the message round trip.
            this.waiting.get(data.id).resolve({ entities: this.waiting.get(data.id).entities, tokens: data.tokens, insideMs: data.ms });
            this.waiting.delete(data.id);
            break;
          case "AnnotateFailed":
            this.waiting.get(data.id).reject(new Error(data.message));
            break;
        }
      };
    });
  }

  /** Resolves with the number of entities found in `text` and the sub-tokens read. */
  annotate(text) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, entities: 0 });
      this.worker.postMessage({ kind: "Annotate", id, text });
    });
  }
}

let main;

export async function load() {
  main = new ModelWorker();
  await main.ready;
}

export const annotate = (text) => main.annotate(text);

/** `n` workers, each with its own model (the first is the one already loaded). */
export async function pool(n) {
  const workers = [main];
  while (workers.length < n) workers.push(new ModelWorker());
  await Promise.all(workers.map((w) => w.ready));
  return workers.map((w) => (text) => w.annotate(text));
}
