// Medlight on its baseline-SIMD worker build (what browsers without relaxed SIMD run), to measure
// the relaxed-SIMD build against it in the same run: `node bench/browser.mjs --systems ours,ours-baseline,peer`.
globalThis.medlightWorker = "/worker_loader.js";
export * from "./ours.js";
