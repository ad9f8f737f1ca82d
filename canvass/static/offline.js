/* canvass offline: contacts are queued on the phone with a UUID made here, sent when there is a connection, and
   never lost or doubled (the server stores each UUID once). Pages work without this file; it only adds offline. */
(function () {
  "use strict";
  var QUEUE = "canvass.queue.v1";
  var REJECTED = "canvass.rejected.v1";  // entries the server refused, kept until the volunteer has seen them
  var meta = function (name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ""; };
  var csrf = meta("csrf-token");
  var turfId = meta("turf-id");
  var userId = meta("user-id");
  var statusBox = document.getElementById("sync-status");
  var rejectedBox = document.getElementById("sync-rejected");
  var flushing = false;
  var sentSoFar = 0;  // entries sent since the queue was last empty, for "All 3 sent, at 10:42"

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function load(key, fallback) { try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; } }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function queue() { return load(QUEUE, []); }
  function mine(items) { return items.filter(function (c) { return !userId || c.user === userId; }); }

  /* A sentence from the page's data attributes, in the reader's language, singular or plural by the count. */
  function counted(box, key, n, time) {
    var t = (box && box.dataset[key + (n === 1 ? "One" : "Many")]) || "";
    return t.replace("%(n)s", String(n)).replace("%(time)s", time || "");
  }
  function text(key, n, time) { return counted(statusBox, key, n, time); }
  function clock() { return new Date().toLocaleTimeString([], {hour: "numeric", minute: "2-digit"}); }
  function showStatus(message, ok) {
    if (!statusBox) { return; }
    statusBox.hidden = !message;
    statusBox.textContent = message || "";
    statusBox.classList.toggle("ok", !!ok);
  }
  function refreshStatus() {
    var waiting = mine(queue()).length;
    document.documentElement.dataset.waiting = String(waiting);
    if (waiting) { showStatus(text(navigator.onLine ? "waiting" : "offline", waiting), false); }
  }

  /* Refused entries leave the queue (sending them again would be refused again) but stay on screen, with the
     server's reason, until the volunteer dismisses them: nothing logged disappears unseen. */
  function showRejected() {
    if (!rejectedBox) { return; }
    var kept = mine(load(REJECTED, []));
    rejectedBox.hidden = !kept.length;
    if (!kept.length) { return; }
    rejectedBox.querySelector("[data-heading]").textContent = counted(rejectedBox, "heading", kept.length);
    var list = rejectedBox.querySelector("ul");
    list.textContent = "";
    kept.forEach(function (c) {
      var li = document.createElement("li");
      li.textContent = (c.result_label || c.result_code) + ": " + c.error;
      list.appendChild(li);
    });
  }
  function dismissRejected() {
    save(REJECTED, load(REJECTED, []).filter(function (c) { return userId && c.user !== userId; }));
    showRejected();
  }

  /* "Saved: Luis Lopez · Talked" at once, with an Undo that takes a queued entry back off the phone (an entry
     already sent is undone by the server, through the same button's form). */
  var SAVED = "canvass.saved.v1";
  var savedBox = document.getElementById("saved");
  function showSaved(who, result, uuids) {
    save(SAVED, {who: who, result: result, uuids: uuids, user: userId});
    renderSaved();
  }
  function renderSaved() {
    var last = load(SAVED, null);
    if (!savedBox || !last || last.user !== userId) { return; }
    var queued = {};
    queue().forEach(function (c) { queued[c.client_uuid] = true; });
    if (!last.uuids.some(function (u) { return queued[u]; })) { return; }  // sent: the server's own box says it
    savedBox.hidden = false;
    savedBox.querySelector(".saved-text").textContent = "✓ " + savedBox.dataset.saved
      .replace("%(who)s", last.who).replace("%(result)s", last.result);
  }
  function onUndo(event) {
    var last = load(SAVED, null);
    if (!last || last.user !== userId) { return; }
    var taken = {};
    last.uuids.forEach(function (u) { taken[u] = true; });
    var before = queue();
    var after = before.filter(function (c) { return !taken[c.client_uuid]; });
    if (after.length === before.length) { return; }  // already sent: the form asks the server to undo it
    event.preventDefault();
    save(QUEUE, after);
    localStorage.removeItem(SAVED);
    savedBox.querySelector(".saved-text").textContent = savedBox.dataset.undone;
    refreshStatus();
  }

  function enqueue(contacts) {
    var items = queue();
    contacts.forEach(function (c) { c.user = userId; items.push(c); });
    save(QUEUE, items);
    refreshStatus();
  }

  /* Send what is queued, in batches; keep anything not answered. */
  function flush() {
    if (flushing || !navigator.onLine || !csrf) { return Promise.resolve(); }
    var batch = mine(queue()).slice(0, 50);
    if (!batch.length) { refreshStatus(); return Promise.resolve(); }
    flushing = true;
    var body = batch.map(function (c) { var copy = Object.assign({}, c); delete copy.user; return copy; });
    return fetch("/api/v1/contacts", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({contacts: body})
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      var answered = {}, refused = {}, sent = 0;
      data.results.forEach(function (r) {
        answered[r.client_uuid] = true;
        if (r.status === "rejected") { refused[r.client_uuid] = r.error; } else { sent += 1; }
      });
      var kept = load(REJECTED, []);
      batch.forEach(function (c) { if (refused[c.client_uuid]) { kept.push(Object.assign({}, c, {error: refused[c.client_uuid]})); } });
      save(REJECTED, kept);
      save(QUEUE, queue().filter(function (c) { return !answered[c.client_uuid]; }));
      flushing = false;
      retryDelay = 2000;
      showRejected();
      sentSoFar += sent;
      refreshStatus();
      if (mine(queue()).length && batch.length === 50) { return flush(); }
      if (!mine(queue()).length && sentSoFar) { showStatus(text("sent", sentSoFar, clock()), true); sentSoFar = 0; }
    }).catch(function () { flushing = false; refreshStatus(); retrySoon(); });
  }
  /* A send that failed (the signal came back a moment before the network did, a server restarting) is tried again
     after 2 s, then 4, 8 and 16, then every 20 s as the timer does: a porch with a weak signal waits seconds, not
     the timer's full 20, and a server that is down is not hammered. */
  var retryDelay = 2000, retryTimer = null;
  function retrySoon() {
    if (retryTimer || !mine(queue()).length) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 20000);
  }

  /* ---- The cached turf: next door, doors already done, wiping turfs that are no longer ours ---- */
  function turfKey(id) { return "canvass.turf." + id; }
  function loggedDoors() {
    var done = {};
    queue().forEach(function (c) { if (c.household_id) { done[c.household_id] = true; } });
    return done;
  }
  function nextDoorUrl(currentDoor) {
    var pack = load(turfKey(turfId), null);
    if (!pack) { return "/walk/" + turfId + "/next"; }
    var done = loggedDoors(), doors = pack.doors, start = 0;
    for (var i = 0; i < doors.length; i++) { if (String(doors[i].id) === String(currentDoor)) { start = i + 1; } }
    for (var k = 0; k < doors.length; k++) {
      var door = doors[(start + k) % doors.length];
      if (!door.attempted && !done[door.id] && String(door.id) !== String(currentDoor)) {
        return "/walk/" + turfId + "/door/" + door.id;
      }
    }
    return "/walk/" + turfId;
  }
  function markDone() {
    var done = loggedDoors();
    document.querySelectorAll("[data-door]").forEach(function (li) {
      if (done[li.dataset.door] && li.classList.contains("todo")) { li.classList.replace("todo", "attempted"); }
    });
    queue().forEach(function (c) {
      var section = c.person_id && document.getElementById("person-" + c.person_id);
      if (section) { section.classList.add("logged"); }
    });
  }

  /* Keeps the turf on the phone. The server answers 304 when the phone already holds this version of the turf (its
     ETag), so a revisit moves a few hundred bytes; otherwise only the doors whose digest changed are fetched again. */
  function saveTurfForOffline() {
    if (!turfId || !navigator.onLine) { return; }
    var kept = load(turfKey(turfId), null);
    var headers = kept && kept.etag ? {"If-None-Match": kept.etag} : {};
    fetch("/api/v1/turfs/" + turfId, {credentials: "same-origin", headers: headers}).then(function (r) {
      if (r.status === 404) { forgetTurf(turfId); return null; }
      if (r.status === 304) { document.documentElement.dataset.offlineReady = "1"; return null; }
      if (!r.ok) { return null; }
      var etag = r.headers.get("ETag");
      return r.json().then(function (pack) { pack.etag = etag; return pack; });
    }).then(function (pack) {
      if (!pack) { return; }
      var before = {};
      ((kept && kept.doors) || []).forEach(function (d) { before[d.id] = d.v; });
      save(turfKey(turfId), pack);
      var urls = ["/walk/" + turfId].concat(pack.doors.filter(function (d) { return before[d.id] !== d.v; })
        .map(function (d) { return "/walk/" + turfId + "/door/" + d.id; }));
      cacheInWorker(urls, {turf: turfId, etag: pack.etag});
    }).catch(function () {});
  }
  function cacheInWorker(urls, version) {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function () { document.documentElement.dataset.offlineReady = "1"; };
      registration.active.postMessage({type: "cache", urls: urls, version: version}, [channel.port2]);
    });
  }
  function forgetTurf(id) {
    localStorage.removeItem(turfKey(id));
    if ("serviceWorker" in navigator && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({type: "forget", prefix: "/walk/" + id + "/"});
      navigator.serviceWorker.controller.postMessage({type: "forget", prefix: "/walk/" + id});
    }
  }
  /* A turf that was unassigned or closed is wiped from the phone. */
  function wipeOtherTurfs() {
    if (!navigator.onLine) { return; }
    fetch("/api/v1/me", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (me) {
      if (!me) { return; }
      var keep = {};
      me.turfs.forEach(function (id) { keep[String(id)] = true; });
      Object.keys(localStorage).forEach(function (key) {
        var m = key.match(/^canvass\.turf\.(\d+)$/);
        if (m && !keep[m[1]]) { forgetTurf(m[1]); }
      });
    }).catch(function () {});
  }

  /* ---- Forms: a tap queues the contact, then moves on ---- */
  function answersFrom(form, personId) {
    var answers = {}, prefix = "q-" + personId + "-";
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0) { return; }
      var code = el.name.slice(prefix.length);
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      if (!el.value) { return; }
      if (el.type === "checkbox") { (answers[code] = answers[code] || []).push(el.value); }
      else { answers[code] = el.value; }
    });
    return answers;
  }
  function doorId() { var m = location.pathname.match(/\/door\/(\d+)/); return m ? Number(m[1]) : null; }

  function onPersonSubmit(event) {
    var form = event.target, button = event.submitter;
    if (!button) { return; }
    if (!button.value) {  // not a result (asked not to be contacted): sent as the page's own form, once confirmed
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
      return;
    }
    event.preventDefault();
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) { return; }
    if (form.dataset.sent) { return; }  // a double tap
    form.dataset.sent = "1";
    var personId = Number(form.elements.person_id.value);
    var followups = [];
    Array.prototype.forEach.call(form.querySelectorAll('input[name="followups"]:checked'), function (el) { followups.push(Number(el.value)); });
    var key = uuid();
    enqueue([{client_uuid: key, person_id: personId, household_id: doorId(), turf_id: Number(turfId), channel: "door",
              result_code: button.value, answers: answersFrom(form, personId),
              notes: form.elements.notes ? form.elements.notes.value : "",
              language_heard: form.elements.language_heard ? form.elements.language_heard.value : "",
              followups: followups, contacted_at: new Date().toISOString()}]);
    showSaved(form.dataset.name || "", button.dataset.label || button.textContent.trim(), [key]);
    form.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
    markDone();
    var section = document.getElementById("person-" + personId);
    var next = section && section.nextElementSibling;
    while (next && !(next.classList.contains("person") && !next.classList.contains("logged"))) { next = next.nextElementSibling; }
    flush().then(function () {
      if (next) { next.scrollIntoView({behavior: "smooth"}); next.querySelector("button").focus(); }
      else { location.href = nextDoorUrl(doorId()); }
    });
  }
  function onDoorSubmit(event) {
    var form = event.target, button = event.submitter;
    if (!button) { return; }
    event.preventDefault();
    if (form.dataset.sent) { return; }
    form.dataset.sent = "1";
    var ids = form.elements.person_ids ? form.elements.person_ids.value.split(",").filter(Boolean) : [];
    var when = new Date().toISOString();
    var contacts = (ids.length ? ids : [null]).map(function (id) {
      return {client_uuid: uuid(), person_id: id ? Number(id) : null, household_id: doorId(), turf_id: Number(turfId),
              channel: "door", result_code: button.value, contacted_at: when};
    });
    enqueue(contacts);
    showSaved(form.dataset.name || "", button.dataset.label || button.textContent.trim(),
              contacts.map(function (c) { return c.client_uuid; }));
    flush().then(function () { location.href = nextDoorUrl(doorId()); });
  }

  /* Someone on the volunteer's relational list: the same queue, a relational contact (the API checks that the
     person is on this volunteer's own list). */
  function onRelationalSubmit(event) {
    var form = event.target, button = event.submitter;
    if (!button || !button.value) { return; }
    event.preventDefault();
    if (form.dataset.sent) { return; }  // a double tap
    form.dataset.sent = "1";
    var key = uuid();
    enqueue([{client_uuid: key, relational_id: Number(form.dataset.relational), channel: "relational",
              result_code: button.value, contacted_at: new Date().toISOString()}]);
    var label = button.dataset.label || button.textContent.trim();
    showSaved(form.dataset.name || "", label, [key]);
    var card = form.closest(".person");
    if (card) {
      card.classList.add("logged");
      var badge = card.querySelector(".logged-now") || document.createElement("p");
      badge.className = "hint logged-now";
      badge.textContent = "✓ " + label;
      form.replaceWith(badge);
    }
    flush();
  }

  document.querySelectorAll('form[data-offline="person"]').forEach(function (f) { f.addEventListener("submit", onPersonSubmit); });
  document.querySelectorAll('form[data-offline="relational"]').forEach(function (f) { f.addEventListener("submit", onRelationalSubmit); });
  document.querySelectorAll('form[data-offline="door"]').forEach(function (f) { f.addEventListener("submit", onDoorSubmit); });
  document.querySelectorAll('a[href$="/next"]').forEach(function (a) {
    a.addEventListener("click", function (event) { if (!navigator.onLine) { event.preventDefault(); location.href = nextDoorUrl(doorId()); } });
  });

  if ("serviceWorker" in navigator) { navigator.serviceWorker.register("/sw.js").catch(function () {}); }
  window.addEventListener("online", function () { refreshStatus(); flush(); saveTurfForOffline(); });
  window.addEventListener("offline", refreshStatus);
  setInterval(flush, 20000);
  if (rejectedBox) { rejectedBox.querySelector("[data-dismiss]").addEventListener("click", dismissRejected); }
  if (savedBox && savedBox.querySelector("form")) { savedBox.querySelector("form").addEventListener("submit", onUndo); }
  renderSaved();
  markDone();
  showRejected();
  refreshStatus();
  flush();
  if (document.body.classList.contains("walking") && !doorId()) { saveTurfForOffline(); }
  if (document.body.classList.contains("volunteer-home")) { wipeOtherTurfs(); }
  window.canvassOffline = {flush: flush, queue: queue, rejected: function () { return load(REJECTED, []); }};
})();
