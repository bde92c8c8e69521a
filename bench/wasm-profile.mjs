// Self time per function in a V8 CPU profile (node --cpu-prof), largest first: where the wasm
// forward pass of `ner/tests/wasm_forward.rs` spends its time.
//
//   node bench/wasm-profile.mjs PROFILE.cpuprofile [TOP]
import { readFileSync } from "node:fs";

const [file, top = "15"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName || "(anonymous)"]));
const self = new Map();
profile.samples.forEach((id, i) => {
  // Rust symbols end in a hash (`::h0123…`) that only adds noise here.
  const name = names.get(id).replace(/::h[0-9a-f]{16}$/, "");
  self.set(name, (self.get(name) ?? 0) + profile.timeDeltas[i]);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(`self time, ${(total / 1e6).toFixed(2)} s sampled`);
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name.slice(0, 120)}`);
}
