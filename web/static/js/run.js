// repoconnect pages: runs (see app.js for what every page shares). On a build profile page:
//  - the runs list (#runs-list) is refreshed while the page is visible, every 2 s while a run
//    is queued or running and every 8 s otherwise; after 30 minutes without a run it stops and
//    says so, with a button to go on. A refresh that fails says why in place, with Retry.
//  - "Clone now" (form[data-clone-form]) sends one request per click of a person: a second
//    submit while the first is on its way or after it started a run is dropped, until the
//    server's form says no run is active.
//  - the live panel (#clone) refreshes the list when its run ends, and says when its event
//    stream lost the connection.
// Everything runs only when its elements exist; nothing here throws.
(function () {
  "use strict";

  var FAST = 2000, SLOW = 8000, IDLE_STOP = 30 * 60 * 1000;
  var timer = null, lastActivity = Date.now(), failures = 0, unblockNext = false, carriesUnblock = false, lastCount = null;

  function byId(id) { return document.getElementById(id); }
  function list() { return byId("runs-list"); }
  function polls() {
    var l = list();
    return !!(l && window.htmx && l.getAttribute("data-poll") === "true");
  }
  function active() {
    return !!document.querySelector('#runs-list .runs-state[data-runs-active="true"], #clone .clone-progress[data-state="queued"], #clone .clone-progress[data-state="running"]');
  }

  // say writes a sentence in the runs' status line, with a button doing act when label is given.
  function say(text, label, act) {
    var p = byId("runs-poll");
    if (!p) { return; }
    p.textContent = text || "";
    if (label) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = label;
      b.addEventListener("click", function () { act(); });
      p.appendChild(b);
    }
  }

  // sayIn replaces the content of region (when it exists) with an alert saying text.
  function sayIn(region, text) {
    if (!region) { return; }
    var p = document.createElement("p");
    p.className = "alert error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    region.textContent = "";
    region.appendChild(p);
  }

  function schedule(ms) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!polls()) { return; }
    if (ms == null) {
      if (!active() && Date.now() - lastActivity > IDLE_STOP) {
        say("The runs list stopped updating after 30 minutes without a run.", "Update now", function () {
          lastActivity = Date.now();
          say("");
          refresh();
        });
        return;
      }
      ms = (active() ? FAST : SLOW) * Math.min(4, failures + 1);
    }
    timer = setTimeout(refresh, ms);
  }

  function refresh() {
    timer = null;
    var l = list();
    if (!l || !window.htmx) { return; }
    if (document.visibilityState === "hidden") { // no request from a hidden tab; look again later
      timer = setTimeout(refresh, SLOW);
      return;
    }
    try { window.htmx.trigger(l, "runs-refresh"); } catch (e) { schedule(); }
  }

  function cloneForm() { return document.querySelector("form[data-clone-form]"); }

  // The double-click guard: runs before htmx's own submit handler (capture on document).
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f || !f.matches || !f.matches("form[data-clone-form]")) { return; }
    if (f.getAttribute("data-sent") === "true") {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      return;
    }
    f.setAttribute("data-sent", "true");
  }, true);

  document.addEventListener("htmx:beforeRequest", function (ev) {
    var d = ev.detail || {};
    if (d.elt && d.elt.id === "runs-list") {
      carriesUnblock = unblockNext;
      unblockNext = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (ev) {
    var d = ev.detail || {}, elt = d.elt, status = d.xhr ? d.xhr.status : 0;
    if (!elt || !elt.matches) { return; }
    if (elt.matches("form[data-clone-form]")) {
      var btn = elt.querySelector("button[type=submit]");
      if (status === 200) {
        // A run started: the button stays off until the server's form says none is active.
        setTimeout(function () { if (btn && elt.isConnected) { btn.disabled = true; } }, 0);
        unblockNext = true;
        lastActivity = Date.now();
        schedule(300);
      } else {
        elt.removeAttribute("data-sent");
        if (status === 0) { sayIn(byId("clone"), "The service did not answer, so no run started. Check the connection and press Clone now again."); }
      }
      return;
    }
    if (elt.id === "check-delivery" && status === 0) {
      sayIn(byId("delivery-check"), "The service did not answer, so nothing was checked. Press the button again.");
      return;
    }
    if (elt.closest && elt.closest("#clone")) { // "Start another run anyway", Cancel
      lastActivity = Date.now();
      schedule(300);
      return;
    }
    if (elt.id !== "runs-list") { return; }
    if (status >= 200 && status < 300) {
      failures = 0;
      say("");
      var st = document.querySelector("#runs-list .runs-state");
      var count = st ? st.getAttribute("data-count") : null;
      if (active() || (lastCount !== null && count !== lastCount)) { lastActivity = Date.now(); }
      lastCount = count;
      var wrap = byId("clone-form"), f = cloneForm();
      if (carriesUnblock && wrap && f && wrap.getAttribute("data-blocked") !== "true" && !active()) {
        f.removeAttribute("data-sent");
        var b = f.querySelector("button[type=submit]");
        if (b) { b.disabled = false; }
      } else if (carriesUnblock) {
        unblockNext = true; // not yet: look again at the next refresh
      }
    } else {
      failures++;
      var why = status === 0 ? "the service did not answer" : "the service answered " + status;
      say("The runs could not be updated: " + why + ". Trying again in a few seconds.", "Retry", function () {
        say("");
        refresh();
      });
    }
    carriesUnblock = false;
    schedule();
  });

  // A request that never got an answer (htmx:sendError; afterRequest says the same, which is
  // harmless: both only write the same sentence).
  document.addEventListener("htmx:sendError", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || !elt.matches) { return; }
    if (elt.matches("form[data-clone-form]")) {
      elt.removeAttribute("data-sent");
      sayIn(byId("clone"), "The service did not answer, so no run started. Check the connection and press Clone now again.");
    } else if (elt.id === "check-delivery") {
      sayIn(byId("delivery-check"), "The service did not answer, so nothing was checked. Press the button again.");
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && polls()) { schedule(0); }
  });

  // The live panel: refresh the list when its run ends; say when its stream broke.
  document.addEventListener("htmx:sseError", function (ev) {
    var panel = ev.target && ev.target.closest ? ev.target.closest(".clone-live") : null;
    if (!panel || panel.querySelector(".sse-lost")) { return; }
    var p = document.createElement("p");
    p.className = "sse-lost small warn";
    p.setAttribute("role", "status");
    p.setAttribute("data-testid", "sse-lost");
    p.textContent = "The live progress lost its connection to the service. It is trying again, and the runs list below still updates.";
    panel.insertBefore(p, panel.firstChild);
  });
  document.addEventListener("htmx:sseOpen", function (ev) {
    var panel = ev.target && ev.target.closest ? ev.target.closest(".clone-live") : null;
    var p = panel ? panel.querySelector(".sse-lost") : null;
    if (p) { p.remove(); }
  });

  function watchPanel() {
    var region = byId("clone");
    if (!region || !window.MutationObserver) { return; }
    var ended = {};
    var said = "";
    new MutationObserver(function () {
      // Screen readers hear each phase once (the panel changes several times a second), and
      // the end from the panel's own status line.
      var live = region.querySelector('.clone-progress[data-state="queued"], .clone-progress[data-state="running"]');
      var announce = region.querySelector(".clone-announce");
      if (live && announce) {
        var key = live.getAttribute("data-job") + "/" + live.getAttribute("data-state") + "/" + live.getAttribute("data-phase");
        if (key !== said) {
          said = key;
          var line = live.querySelector(".clone-headline");
          announce.textContent = line ? line.textContent.trim() : "";
        }
      }
      var done = region.querySelector('.clone-progress[data-state="succeeded"], .clone-progress[data-state="failed"]');
      var job = done ? done.getAttribute("data-job") : null;
      if (job && !ended[job]) {
        ended[job] = true;
        var cancel = region.querySelector(".clone-live .cancel-form");
        if (cancel) { cancel.remove(); } // the clone ended: nothing to cancel
        // The run page's state badge follows the end of its run.
        var badge = document.querySelector(".page-head .badge[data-status]");
        if (badge && !list()) {
          var state = done.getAttribute("data-state");
          badge.className = "badge status-" + state;
          badge.setAttribute("data-status", state);
          badge.textContent = state;
        }
        lastActivity = Date.now();
        unblockNext = true;
        schedule(400);
      }
    }).observe(region, { childList: true, subtree: true });
  }

  function start() {
    watchPanel();
    var st = document.querySelector("#runs-list .runs-state");
    lastCount = st ? st.getAttribute("data-count") : null;
    schedule();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
