// Takes docs/screenshot.png of the built app annotating a sentence (for the README).
// Run after `trunk build --release`: (cd tests/e2e && npm ci && node screenshot.mjs)
// (A development tool, not a test: the end-to-end tests are tests/e2e/main.rs and its modules.)
import { annotate, launch, openReady, serveDist } from "./harness.mjs";

const server = await serveDist();
const browser = await launch();
const { page } = await openReady(browser, server.origin);
await page.setViewportSize({ width: 1000, height: 620 });
await annotate(page, "Selegiline-induced postural hypotension in Parkinson's disease: a longitudinal study on the effects of drug withdrawal. Cisplatin nephrotoxicity and ototoxicity were reduced by sodium thiosulfate.");
await page.screenshot({ path: new URL("../../docs/screenshot.png", import.meta.url).pathname, fullPage: true });
await browser.close();
await server.close();
