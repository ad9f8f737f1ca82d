/* canvass service worker: keeps the assigned turf's pages so a volunteer can go on without a connection.
   Walk pages: network first, the kept copy when offline. A turf's walk list is the exception when its kept copy is
   current: the worker asks the server whether the turf changed (its ETag, a few hundred bytes) and shows the kept
   copy when it did not. Static files: kept copy first, refreshed in the background.
   Contacts are not sent from here: the page's queue (offline.js) does that, so nothing is sent twice. */
var CACHE = "canvass-pages-v2";
var STATIC = "canvass-static-v1";
var VERSIONS = "/__canvass/turf-version/";  // kept in CACHE: the ETag its kept walk list was made at, per turf

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) {
    return cache.addAll(["/static/app.css", "/static/offline.js", "/static/manifest.webmanifest"]);
  }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {  // an older version's kept pages go
    return Promise.all(names.filter(function (n) { return n !== CACHE && n !== STATIC; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "cache") {
    caches.open(CACHE).then(function (cache) {
      return Promise.all(data.urls.map(function (url) {
        return fetch(url, {credentials: "same-origin"}).then(function (response) {
          if (response.ok && !response.redirected) { return cache.put(url, response); }
        }).catch(function () {});
      })).then(function () {
        if (data.version && data.version.etag) {
          return cache.put(VERSIONS + data.version.turf, new Response(data.version.etag));
        }
      });
    }).then(function () { if (event.ports[0]) { event.ports[0].postMessage({type: "cached"}); } });
  } else if (data.type === "forget") {
    caches.open(CACHE).then(function (cache) {
      return cache.keys().then(function (requests) {
        return Promise.all(requests.filter(function (request) {
          var path = new URL(request.url).pathname;
          return path === data.prefix || path.indexOf(data.prefix) === 0;
        }).map(function (request) { return cache.delete(request); }));
      });
    });
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(STATIC).then(function (cache) {
      return cache.match(request).then(function (kept) {
        var fresh = fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
        return kept || fresh;
      });
    }));
    return;
  }
  var keepable = url.pathname.indexOf("/walk/") === 0 || url.pathname === "/my";
  var walkList = url.pathname.match(/^\/walk\/(\d+)$/);
  if (request.mode === "navigate" && walkList && !url.search) {
    event.respondWith(keptIfCurrent(walkList[1], url.pathname).then(function (kept) {
      return kept || networkFirst(request, url);
    }));
    return;
  }
  if (request.mode === "navigate" && keepable) { event.respondWith(networkFirst(request, url)); }
});

/* The kept walk list of a turf, if the server says the turf has not changed since it was kept (304). */
function keptIfCurrent(turfId, path) {
  return caches.open(CACHE).then(function (cache) {
    return Promise.all([cache.match(VERSIONS + turfId), cache.match(path)]).then(function (found) {
      if (!found[0] || !found[1]) { return null; }
      return found[0].text().then(function (etag) {
        return fetch("/api/v1/turfs/" + turfId, {credentials: "same-origin", headers: {"If-None-Match": etag}})
          .then(function (answer) { return answer.status === 304 ? found[1] : null; })
          .catch(function () { return null; });
      });
    });
  });
}

function networkFirst(request, url) {
    return fetch(request).then(function (response) {
      if (response.ok && !response.redirected && !url.search) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) {
        return cache.match(url.pathname).then(function (kept) {
          return kept || new Response("<!doctype html><meta name=viewport content='width=device-width'><title>Offline</title>" +
            "<p style='font:1.2rem system-ui;padding:1rem'>You are offline and this page was not saved on this phone. " +
            "<a href='/my'>My lists</a>.</p>", {headers: {"Content-Type": "text/html; charset=utf-8"}});
        });
      });
    });
}
