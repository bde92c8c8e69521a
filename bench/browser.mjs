// Browser benchmark: Medlight's worker and the transformers.js peer, same model weights, same
// BC5CDR devel sentences, same Debian headless Chromium, one after the other in one run.
//
//   node bench/browser.mjs [--limit N] [--runs R] [--systems ours,ours-baseline,peer] [--json out.json]
//
// `ours` is the worker build the app would start in this browser (relaxed SIMD here), `ours-baseline`
// the baseline-SIMD build that browsers without relaxed SIMD get.
//
// Needs: dist/ (trunk build --release), bench/node_modules (npm ci --ignore-scripts in bench/) and the
// peer's ONNX model in bench/peer/model (bench/peer/export_onnx.py); scripts/bench.sh does all three.
// Each system gets a fresh browser: a cold load (empty HTTP cache) counts the bytes the server
// sent, gzip-compressed as a production server would; a reload then measures load-to-ready from the
// warm HTTP cache. Peak memory is the highest resident set (VmHWM) of the browser's renderer processes.
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { readFile, stat } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: args } = parseArgs({
  options: {
    limit: { type: "string", default: "0" },
    devel: { type: "string", default: here("../../shared/data/bc5cdr/devel.tsv") },
    json: { type: "string" },
    systems: { type: "string", default: "ours,ours-baseline,peer" },
  },
});

// URL prefix → folder. Our app's build is the site root, as it is deployed.
const MOUNTS = [
  ["/bench/", here("page/")],
  ["/peer/", here("node_modules/@huggingface/transformers/dist/")],
  ["/ort/", here("node_modules/onnxruntime-web/dist/")],
  ["/peer-model/", here("peer/model/")],
  ["/", here("../dist/")],
];
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".json": "application/json", ".css": "text/css",
};
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".wasm", ".json", ".css", ".gguf", ".safetensors", ".onnx"]);

/** Static server: gzip (level 9, cached) for clients that accept it, ETag + max-age for the HTTP
 * cache, and a tally of body bytes sent per path. */
function serve() {
  const gzipped = new Map();
  const sent = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const [prefix, dir] = MOUNTS.find(([p]) => url.pathname.startsWith(p));
    const path = normalize(join(dir, url.pathname.slice(prefix.length) || "index.html"));
    if (!path.startsWith(dir)) return res.writeHead(403).end();
    let info;
    try {
      info = await stat(path);
    } catch {
      return res.writeHead(404).end();
    }
    const etag = `"${info.size}-${info.mtimeMs}"`;
    const headers = {
      "content-type": TYPES[extname(path)] ?? "application/octet-stream",
      "cache-control": "max-age=3600",
      etag,
    };
    if (req.headers["if-none-match"] === etag) return res.writeHead(304, headers).end();
    let body = await readFile(path);
    if (COMPRESSIBLE.has(extname(path)) && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "")) {
      if (!gzipped.has(path)) gzipped.set(path, gzipSync(body, { level: 9 }));
      body = gzipped.get(path);
      headers["content-encoding"] = "gzip";
    }
    sent.set(url.pathname, (sent.get(url.pathname) ?? 0) + body.length);
    res.writeHead(200, { ...headers, "content-length": body.length }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, sent, origin: `http://127.0.0.1:${server.address().port}` })),
  );
}

/** Devel sentences as text, words joined by spaces. */
function devel(path, limit) {
  const sentences = readFileSync(path, "utf8")
    .split(/\n\s*\n/)
    .map((block) => block.split("\n").filter(Boolean).map((line) => line.split("\t")[0]).join(" "))
    .filter(Boolean);
  return limit > 0 ? sentences.slice(0, limit) : sentences;
}

/** Consecutive sentences, one per line, in chunks of about `bytes` (what the app's worker reads at once). */
function chunks(sentences, bytes = 1500) {
  const out = [];
  let current = [];
  let size = 0;
  for (const s of sentences) {
    if (size + s.length > bytes && current.length) {
      out.push(current.join("\n"));
      current = [];
      size = 0;
    }
    current.push(s);
    size += s.length + 1;
  }
  if (current.length) out.push(current.join("\n"));
  return out;
}

/** The browser process: the one started with this profile. */
function browserPid(profile) {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes(`--user-data-dir=${profile}`) && !cmdline.includes("--type=")) return Number(entry);
    } catch {}
  }
  throw new Error(`no browser process with profile ${profile}`);
}

/** Highest resident set (VmHWM, MB) among the renderer processes descended from `pid`. */
function peakRendererMb(pid) {
  const parent = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const descends = (p) => {
    for (let q = p; q > 1; q = parent.get(q)) if (q === pid) return true;
    return false;
  };
  let peak = 0;
  for (const p of parent.keys()) {
    if (!descends(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--type=renderer")) continue;
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))[1]);
      peak = Math.max(peak, kb / 1024);
    } catch {}
  }
  return peak;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => quantile(xs, 0.5);

async function measure(system, { origin, sent }, sentences) {
  // A persistent profile: its HTTP cache is on disk and keeps a 20 MB model, which an incognito
  // context's small in-memory cache does not.
  const profile = mkdtempSync(join(tmpdir(), "medlight-bench-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (e) => console.error(`[${system}] page error: ${e.message}`));
    const url = `${origin}/bench/index.html?system=${system}`;
    const open = async () => {
      await page.goto(url);
      await page.waitForFunction(() => window.benchReady === true);
      return page.evaluate(() => window.loadToReady());
    };
    sent.clear();
    const coldMs = await open();
    const bytes = [...sent.values()].reduce((a, b) => a + b, 0);
    const files = Object.fromEntries(sent);
    sent.clear();
    const warmMs = await open();
    const warmBytes = [...sent.values()].reduce((a, b) => a + b, 0);
    const [first] = (await page.evaluate((s) => window.latencies(s), [sentences[0]])).ms;
    const { ms, insideMs, tokens } = await page.evaluate((s) => window.latencies(s), sentences);
    const isTypical = (_, i) => Math.abs(sentences[i].split(" ").length - 30) <= 2;
    const typical = ms.filter(isTypical);
    // Where the worker reports its own time: how much of the latency is the message round trip.
    const typicalInside = insideMs.length === ms.length ? insideMs.filter(isTypical) : [];
    const doc = chunks(sentences);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const throughput = {};
    for (const workers of system.startsWith("ours") ? [...new Set([1, cores])] : [1]) {
      const run = await page.evaluate(([c, w]) => window.throughput(c, w), [doc, workers]);
      throughput[workers] = { ...run, tokensPerS: tokens / (run.ms / 1000) };
    }
    return {
      system,
      downloadBytes: bytes,
      files,
      coldLoadToReadyMs: coldMs,
      warmLoadToReadyMs: warmMs,
      warmReloadBytes: warmBytes,
      firstInferenceMs: first,
      sentences: sentences.length,
      tokens,
      medianMs: median(ms),
      p95Ms: quantile(ms, 0.95),
      typical30: { sentences: typical.length, medianMs: median(typical), insideWorkerMedianMs: typicalInside.length ? median(typicalInside) : undefined },
      sequentialTokensPerS: tokens / (ms.reduce((a, b) => a + b, 0) / 1000),
      throughput,
      peakRendererMb: peakRendererMb(browserPid(profile)),
      cores,
    };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const sentences = devel(args.devel, Number(args.limit));
const site = await serve();
const results = {};
for (const system of args.systems.split(",")) {
  console.error(`measuring ${system} on ${sentences.length} sentences…`);
  results[system] = await measure(system, site, sentences);
}
site.server.close();
console.log(results.ours ? table(results) : JSON.stringify(results, null, 2));
if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, JSON.stringify(results, null, 2));
}

/** The table in docs/benchmarks.md: each figure for both systems and their ratio (ours ÷ peer). */
function table({ ours, peer, "ours-baseline": baseline }) {
  const mb = (b) => (b / 1e6).toFixed(2);
  const ms = (x) => x.toFixed(1);
  const rate = (x) => Math.round(x).toLocaleString("en");
  const all = (r) => r.throughput[Math.max(...Object.keys(r.throughput).map(Number))];
  const rows = [
    ["download, gzip (MB)", ours.downloadBytes, peer?.downloadBytes, mb],
    ["load to ready, warm HTTP cache (ms)", ours.warmLoadToReadyMs, peer?.warmLoadToReadyMs, ms],
    ["load to ready, cold (ms)", ours.coldLoadToReadyMs, peer?.coldLoadToReadyMs, ms],
    ["first inference (ms)", ours.firstInferenceMs, peer?.firstInferenceMs, ms],
    [`median latency per sentence, ${ours.sentences} sentences (ms)`, ours.medianMs, peer?.medianMs, ms],
    ["p95 latency per sentence (ms)", ours.p95Ms, peer?.p95Ms, ms],
    [`median latency, 28–32-word sentences (${ours.typical30.sentences}) (ms)`, ours.typical30.medianMs, peer?.typical30.medianMs, ms],
    ["  of which inside the worker (ms)", ours.typical30.insideWorkerMedianMs, undefined, ms],
    ["throughput, one sentence at a time (tokens/s)", ours.sequentialTokensPerS, peer?.sequentialTokensPerS, rate],
    ["throughput, 1 worker, ~1.5 kB chunks (tokens/s)", ours.throughput[1].tokensPerS, peer?.throughput[1].tokensPerS, rate],
    [`throughput, ${ours.cores} workers vs peer's 1 session (tokens/s)`, all(ours).tokensPerS, peer?.throughput[1].tokensPerS, rate],
    ["peak renderer memory (MB)", ours.peakRendererMb, peer?.peakRendererMb, (x) => x.toFixed(0)],
  ];
  const lines = ["| figure | Medlight | transformers.js | ratio |", "| --- | ---: | ---: | ---: |"];
  for (const [name, a, b, fmt] of rows) {
    lines.push(`| ${name} | ${fmt(a)} | ${b === undefined ? "–" : fmt(b)} | ${b ? (a / b).toFixed(2) + "×" : "–"} |`);
  }
  if (baseline) {
    const one = (r) => `30-word median ${ms(r.typical30.medianMs)} ms, one sentence at a time ${rate(r.sequentialTokensPerS)} tokens/s, 1 worker on chunks ${rate(r.throughput[1].tokensPerS)} tokens/s`;
    lines.push("", `Medlight, relaxed-SIMD worker: ${one(ours)}`, `Medlight, baseline-SIMD worker: ${one(baseline)} (ratio of 30-word medians ${(ours.typical30.medianMs / baseline.typical30.medianMs).toFixed(2)}×)`);
  }
  const found = Object.entries(ours.throughput).map(([w, r]) => `${r.entities} with ${w} worker(s)`).join(", ");
  lines.push("", `tokens: Medlight ${ours.tokens}, peer ${peer?.tokens ?? "–"}; cores: ${ours.cores}; entities found by Medlight: ${found}`);
  return lines.join("\n");
}
