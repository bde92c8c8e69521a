// Medlight's service worker: precaches the whole app (page, wasm, worker, stylesheet, icons and
// the model) so it loads and annotates with the network off. It only ever touches same-origin
// GET requests; it never sees user text (annotation happens in the page's own worker).
//
// scripts/precache.sh (a Trunk post-build hook) fills in the two placeholders below: the build's
// version, a hash of every file, and the list of files. A new build or model changes the version,
// so the browser installs the new worker next to the old one and the page offers a reload.
const VERSION = "@MEDLIGHT_VERSION@";
const FILES = @MEDLIGHT_FILES@;
const CACHE = `medlight-${VERSION}`;

// The app has two builds of its model worker; the page starts the relaxed-SIMD one where this
// module (src/relaxed_simd.rs, the same bytes) validates, so only that build is cached here.
const RELAXED_SIMD = WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 147, 2, 11]));
const WORKER_FILE = /^worker(_relaxed)?(\.js|_bg\.wasm|_loader\.js)$/;
const WANTED = FILES.filter((file) => {
  const worker = WORKER_FILE.exec(file);
  return !worker || Boolean(worker[1]) === RELAXED_SIMD;
});

self.addEventListener("install", (event) => {
  // "no-cache": revalidate with the server, so a stale HTTP-cached file never enters a new version.
  const requests = WANTED.map((file) => new Request(file, { cache: "no-cache" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener("activate", (event) => {
  // Old versions' caches go once this version is in charge.
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("medlight-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The page asks a waiting update to take over when the user accepts the reload.
self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(request, { ignoreSearch: true }))
      .then((cached) => cached || fetch(request)),
  );
});
