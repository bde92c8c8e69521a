// Times one system (Medlight's worker or the transformers.js peer) on sentences the runner hands
// in. Every timing is taken here, in the page, with performance.now(); browser.mjs only collects.
const params = new URLSearchParams(location.search);
const system = await import(`./${params.get("system")}.js`);

/** Milliseconds from navigation start until the model can answer (download, compile, parse). */
window.loadToReady = async () => {
  await system.load();
  return performance.now();
};

/** Per-sentence latency, one request at a time, as a user editing a note sees it; and the
 * sub-tokens the system read ([CLS]/[SEP] excluded), the unit of throughput. */
window.latencies = async (sentences) => {
  const ms = [];
  const insideMs = [];
  let tokens = 0;
  for (const text of sentences) {
    const t0 = performance.now();
    const found = await system.annotate(text);
    ms.push(performance.now() - t0);
    if (found.insideMs !== undefined) insideMs.push(found.insideMs);
    tokens += found.tokens ?? 0;
  }
  return { ms, insideMs, tokens: system.countTokens ? system.countTokens(sentences) : tokens };
};

/** Throughput over a long document given as chunks (each a few sentences, one per line), spread over
 * `workers` model instances, each taking the next chunk when it is free. */
window.throughput = async (chunks, workers) => {
  const pool = await system.pool(workers);
  let next = 0;
  let entities = 0;
  const t0 = performance.now();
  await Promise.all(pool.map(async (annotate) => {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      const found = await annotate(chunk); // awaited first: `entities +=` would read `entities` before the await
      entities += found.entities;
    }
  }));
  return { ms: performance.now() - t0, entities };
};

document.getElementById("state").textContent = "ready";
window.benchReady = true;
