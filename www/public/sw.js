// The built playground's service worker: it keeps the page's own files (HTML, scripts, styles,
// the engine's Worker and wasm) so that the page opens offline. Network first: online, every
// request goes to the server and refreshes the copy; offline, the copy answers. Model files are
// not handled here: the engine keeps those in Cache Storage itself (`cache: true`), and a second
// copy of hundreds of MiB would waste the quota.
const CACHE = 'brasa-playground-files';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.endsWith('.gguf') || request.headers.has('range')) return;
  event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
    return response;
  } catch (e) {
    const copy = await cache.match(request, { ignoreSearch: request.mode === 'navigate' });
    if (copy) return copy;
    throw e;
  }
}
