// The built playground's service worker (vite.config.ts writes it into the build with the list of
// the build's files in place of PRECACHE): it keeps the page's own files (HTML, scripts, styles,
// the engine's Worker and wasm) so that the page opens offline. They are stored when the worker
// installs, then served network first: online, every request goes to the server and refreshes
// the copy; offline, the copy answers. Model files are left alone: the engine keeps those in
// Cache Storage itself (`cache: true`), and a second copy of hundreds of MiB would waste the quota.
const PRECACHE = [/* build files */];
const VERSION = 'dev';
const PREFIX = 'brasa-playground-files-';
const CACHE = PREFIX + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  // Older builds' files go; this build's worker takes over the open pages at once.
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

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
    // A page opened at its folder (…/playground/) is the stored index.html.
    const copy = (await cache.match(request, { ignoreSearch: request.mode === 'navigate' })) ??
      (request.mode === 'navigate' ? await cache.match(new URL('index.html', self.registration.scope).href) : undefined);
    if (copy) return copy;
    throw e;
  }
}
