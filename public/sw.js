// facecloak's service worker: after the first visit the app works offline.
//
// Install: cache the app's own files, listed in precache.json by scripts/build.mjs (hashed
// names, so a new build is a new list). Fetch: same-origin GETs come from that cache first,
// then the network. The face models are not handled here: the engine worker keeps them in a
// cache of its own, checked against their sha256 on every read (web/src/engine/models.ts).
// This worker never sends anything anywhere: it only answers the page's own requests.

// scripts/build.mjs stamps the build's hash into this name: a new build, a new cache.
const CACHE = 'facecloak-app-dev';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const response = await fetch('precache.json', { cache: 'no-cache' });
      if (response.ok) {
        // The files every page needs and the module the engine runs by default (the
        // single-thread one); the threaded module, asked for with ?threads=on, is cached by
        // the fetch handler below when a page first loads it.
        const { common, single } = await response.json();
        const cache = await caches.open(CACHE);
        await cache.addAll([...common, ...single]);
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('facecloak-app-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.includes('/models/')) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // Pages are looked up without their query (?backend=cpu is the same page).
      const cached = await cache.match(event.request, { ignoreSearch: event.request.mode === 'navigate' });
      if (cached) return cached;
      const response = await fetch(event.request);
      if (response.ok && response.type === 'basic') await cache.put(event.request, response.clone());
      return response;
    })(),
  );
});
