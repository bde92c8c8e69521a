// Starts the app's wasm. It replaces Trunk's inline initialiser so the page's
// Content-Security-Policy can forbid inline scripts.
import init from "./medlight.js";
await init({ module_or_path: "./medlight_bg.wasm" });
