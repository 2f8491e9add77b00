// Solstice's service worker: repeat visits start from files already on the phone.
//
// What it keeps: the site's own build (the hashed JS, WASM and CSS under /pkg, the icons, the
// manifest) and a page saying the user is offline. What it never keeps: pages and server
// function answers, which carry balances and addresses; those always come from the host, and
// when the host cannot be reached a navigation gets the offline page instead.
//
// `build_site` (scripts/lib.sh) fills in the build's files and version below.

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `solstice-${VERSION}`;
const OFFLINE = "/offline.html";

self.addEventListener("install", (event) => {
    event.waitUntil(
        caches
            .open(CACHE)
            .then((cache) => cache.addAll(SHELL))
            .then(() => self.skipWaiting()),
    );
});

self.addEventListener("activate", (event) => {
    event.waitUntil(
        (async () => {
            for (const name of await caches.keys()) {
                if (name.startsWith("solstice-") && name !== CACHE) await caches.delete(name);
            }
            // Navigations start on the network while the worker wakes up.
            if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
            await self.clients.claim();
        })(),
    );
});

// Files named by a hash of their content never change: the first copy is good forever.
const isHashed = (url) => /\.[0-9a-f]{16}\./.test(url.pathname);
const isBuildFile = (url) => url.pathname.startsWith("/pkg/") || SHELL.includes(url.pathname);

// A build file from this build's cache, or else from the host (and then kept, if hashed).
async function buildFile(path) {
    const cache = await caches.open(CACHE);
    const kept = await cache.match(path, { ignoreVary: true });
    if (kept) return kept;
    const response = await fetch(path);
    if (response.ok && isHashed(new URL(path, self.location.origin))) await cache.put(path, response.clone());
    return response;
}

// The page that installed the worker sends the build files it loaded before the worker
// existed (its own route's modules): they are kept too, from the browser's cache.
self.addEventListener("message", (event) => {
    const urls = Array.isArray(event.data?.keep) ? event.data.keep : [];
    const wanted = urls
        .map((url) => new URL(url, self.location.origin))
        .filter((url) => url.origin === self.location.origin && url.pathname.startsWith("/pkg/") && isHashed(url));
    event.waitUntil(
        Promise.all(
            // Offline or gone: it is kept the next time a page asks for it.
            wanted.map((url) => buildFile(url.pathname).catch(() => undefined)),
        ),
    );
});

self.addEventListener("fetch", (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== self.location.origin) return;

    if (request.mode === "navigate") {
        event.respondWith(
            (async () => {
                try {
                    return (await event.preloadResponse) || (await fetch(request));
                } catch {
                    return (await caches.match(OFFLINE, { ignoreVary: true })) || Response.error();
                }
            })(),
        );
        return;
    }

    if (isBuildFile(url)) event.respondWith(buildFile(url.pathname));
    // Everything else (server functions, the price socket, probes) goes to the host untouched.
});
