// The peer: transformers.js (ONNX Runtime Web, its own wasm files served from node_modules) on the
// same fine-tuned weights, exported to ONNX and int8-quantised by peer/export_onnx.py. Nothing
// comes from a CDN or the hub.
import { env, pipeline } from "/peer/transformers.min.js";

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = "/peer-model/";
// The HTTP cache is what both systems are measured with; no Cache Storage copy for either.
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = "/ort/";

let ner;

export async function load() {
  ner = await pipeline("token-classification", "medlight", { dtype: "q8", device: "wasm" });
}

/** Resolves with the number of entity tokens found (the pipeline labels sub-tokens, not spans). */
export async function annotate(text) {
  return { entities: (await ner(text)).length };
}

/** Sub-tokens of `sentences` ([CLS]/[SEP] excluded), counted outside any timing. */
export function countTokens(sentences) {
  return sentences.reduce((n, s) => n + ner.tokenizer(s).input_ids.dims[1] - 2, 0);
}

/** One ONNX session serves every call: the peer's parallelism is ONNX Runtime's own threads. Each
 * chunk's sentences go through the pipeline as one padded batch. */
export async function pool() {
  return [async (chunk) => {
    const out = await ner(chunk.split("\n"));
    return { entities: out.reduce((n, sentence) => n + sentence.length, 0) };
  }];
}
