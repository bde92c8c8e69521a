// Shared by the end-to-end tests: a static server for dist/ on 127.0.0.1 and Debian's headless
// Chromium driven by playwright-core (never a browser a test tool downloads).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
  ".json": "application/json",
  ".gguf": "application/octet-stream",
  ".safetensors": "application/octet-stream",
  ".md": "text/markdown",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".webmanifest": "application/manifest+json",
};

/** Serves dist/ on a free loopback port. `overrides` maps a path to a function (req, res) => bool. */
export async function serveDist(overrides = {}) {
  try {
    await stat(join(DIST, "index.html"));
  } catch {
    throw new Error(`no built app at ${DIST}: run scripts/test.sh (it runs trunk build --release first)`);
  }
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    requests.push({ method: req.method, url: req.url });
    const override = overrides[url.pathname];
    if (override && override(req, res)) return;
    const path = normalize(join(DIST, url.pathname === "/" ? "index.html" : url.pathname));
    if (!path.startsWith(DIST)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(path);
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream", "content-length": body.length });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

/** Opens the app and waits until the model is ready. */
export async function openReady(browser, origin) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(origin + "/");
  await page.locator(".status .ready").waitFor({ timeout: 60_000 });
  return { page, errors };
}

/** Types `text` into the annotator and waits for the result for exactly the textarea's value
 * (which is `text` with CRLF turned into LF: HTML normalises a textarea's line breaks). */
export async function annotate(page, text) {
  await page.fill("#input", text);
  await page.waitForFunction(
    () => {
      const shown = document.querySelector(".annotated[data-state='done']")?.textContent;
      return shown !== undefined && shown === document.querySelector("#input").value;
    },
    null,
    { timeout: 30_000 },
  );
  return page.$$eval(".annotated mark", (marks) => marks.map((m) => ({ text: m.textContent, label: m.dataset.label })));
}
