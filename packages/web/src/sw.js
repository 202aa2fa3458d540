// The explorable's service worker (written into a build by vite.config.ts, which fills in the
// cache name, the build's file list and the isolation headers): every file is cached at
// install, so the page and the shipped models load with no network; requests go to the network
// first, so a reachable server always serves the newest build, and the cache answers when it
// does not. Every response it gives carries the cross-origin isolation headers, so on a host
// that cannot send them (GitHub Pages) the page, once controlled by this worker, still gets
// SharedArrayBuffer and the matmul's Web Workers (the page reloads itself once for that).
const CACHE = __CACHE__;
const FILES = __FILES__;
const HEADERS = __HEADERS__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gim-explorable-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

/** The response with the isolation headers added (an error or opaque response is passed on as is). */
function isolated(response) {
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .catch(() => caches.open(CACHE).then((cache) => cache.match(request, { ignoreSearch: true })).then((hit) => hit ?? Response.error()))
      .then(isolated),
  );
});
