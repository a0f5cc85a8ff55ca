// repoconnect pages: the token check, live (see app.js for what every page shares).
//
// <button type="button" data-check="URL" [data-check-target="#selector"]> posts the fields of
// its form (none without a form) to URL asking for text/event-stream (web/ui_check.go), and
// shows the check in the target (default #check-result) as it runs: what it is doing (the
// host and the bound), a Cancel button, the steps as they pass or fail; then the result,
// moved right after the form field it concerns, scrolled into view, with focus on its
// heading. A failed request says why in place; the button comes back in every case. While a
// check runs its button is aria-disabled (still focusable) and Cancel has the focus; a
// cancelled check gives the focus back to the button.
(function () {
  "use strict";
  if (!window.fetch || !window.TextDecoder) { return; }

  var running = null; // {btn, ctl} of the check in progress

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }

  // only makes node the panel's one child.
  function only(panel, node) {
    panel.textContent = "";
    panel.appendChild(node);
  }

  // say replaces the panel with a message (an error or the cancellation), its heading focused.
  function say(panel, kind, heading, detail) {
    var box = el("div", "check " + kind);
    box.setAttribute("data-valid", "false");
    box.setAttribute("data-check-state", kind);
    var h = el("h3", "check-heading", heading);
    h.tabIndex = -1;
    box.appendChild(h);
    if (detail) { box.appendChild(el("p", "", detail)); }
    only(panel, box);
    return h;
  }

  // swapRegions: the elements htmx replaces (the ids named as an hx-target, and the server
  // fields a pasted URL fills). The panel is never put inside one: a swap would delete it.
  function swapRegions() {
    var ids = { "server-fields": true };
    document.querySelectorAll("[hx-target],[data-hx-target]").forEach(function (e) {
      var sel = (e.getAttribute("hx-target") || e.getAttribute("data-hx-target") || "").trim();
      if (/^#[A-Za-z][\w-]*$/.test(sel)) { ids[sel.slice(1)] = true; }
    });
    return ids;
  }

  // place moves the panel right after the form field the result concerns (its .field, or the
  // field itself), when the page has that field; a field inside a region htmx swaps gets the
  // panel after that region (its outermost), outside the swap.
  function place(panel, field) {
    if (!field) { return; }
    var input = document.getElementById(field);
    if (!input || input.type === "hidden") { return; }
    var ids = swapRegions(), region = null;
    for (var e = input.parentElement; e && e !== document.body; e = e.parentElement) {
      if (e.id && ids[e.id]) { region = e; }
    }
    var anchor = region || input.closest(".field") || input;
    if (anchor.contains(panel)) { return; }
    if (anchor.nextElementSibling !== panel) { anchor.after(panel); }
  }

  // region is the button's result region; when it is gone (a swap took it), it is made again
  // right after the button, so Check always answers.
  function region(btn) {
    var sel = btn.getAttribute("data-check-target") || "#check-result";
    var panel = null;
    try { panel = document.querySelector(sel); } catch (e) { panel = null; }
    if (panel) { return panel; }
    panel = el("div", "check-region");
    if (/^#[A-Za-z][\w-]*$/.test(sel)) { panel.id = sel.slice(1); } else { panel.id = "check-result"; }
    panel.setAttribute("aria-live", "polite");
    btn.after(panel);
    return panel;
  }

  function show(panel, heading) {
    if (!heading) { return; }
    var calm = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var tall = panel.getBoundingClientRect().height > window.innerHeight;
    try {
      (tall ? heading : panel).scrollIntoView({ block: tall ? "start" : "nearest", behavior: calm ? "auto" : "smooth" });
    } catch (e) { heading.scrollIntoView(); }
    heading.focus({ preventScroll: true });
  }

  // events reads a server-sent event stream from a fetch body, calling on(event, data).
  function events(body, on) {
    var reader = body.getReader(), dec = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (r) {
        buf += dec.decode(r.value || new Uint8Array(), { stream: !r.done });
        var i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          var block = buf.slice(0, i), name = "message", data = [];
          buf = buf.slice(i + 2);
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
            else if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
          });
          if (data.length) { on(name, data.join("\n")); }
        }
        if (!r.done) { return pump(); }
      });
    }
    return pump();
  }

  function start(btn) {
    var url = btn.getAttribute("data-check");
    if (!url) { return; }
    var panel = region(btn);
    if (running) { running.ctl.abort(); }
    var ctl = new AbortController(), settled = false, cancelled = false;
    var form = btn.closest("form");
    var body = form ? new URLSearchParams(new FormData(form)) : new URLSearchParams();
    running = { btn: btn, ctl: ctl };

    // The button stays focusable while it runs (disabled would drop focus to <body>): it is
    // aria-disabled and refuses clicks; focus moves to Cancel when it was on the button.
    var hadFocus = document.activeElement === btn;
    btn.setAttribute("aria-disabled", "true");
    btn.setAttribute("data-checking", "true");
    panel.setAttribute("aria-busy", "true");
    var live = el("div", "check running");
    live.setAttribute("data-running", "true");
    var doing = el("p", "check-doing");
    var spin = el("span", "spinner");
    spin.setAttribute("aria-hidden", "true");
    doing.appendChild(spin);
    doing.appendChild(el("span", "doing-text", "Starting the check…"));
    live.appendChild(doing);
    only(panel, live);

    var cancel = el("button", "secondary check-cancel", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", function () {
      cancelled = true;
      ctl.abort();
    });
    function addCancel() {
      var p = panel.querySelector(".check-doing");
      if (p && !p.contains(cancel)) { p.appendChild(document.createTextNode(" ")); p.appendChild(cancel); }
    }
    addCancel();
    if (hadFocus) { cancel.focus(); }

    function release() {
      btn.removeAttribute("aria-disabled");
      btn.removeAttribute("data-checking");
    }
    function finish(heading, toButton) {
      settled = true;
      if (running && running.ctl === ctl) { running = null; }
      panel.removeAttribute("aria-busy");
      release();
      if (toButton) {
        var calm = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
        try { panel.scrollIntoView({ block: "nearest", behavior: calm ? "auto" : "smooth" }); } catch (e) { /* old browser */ }
        if (btn.isConnected) { btn.focus({ preventScroll: true }); return; }
      }
      show(panel, heading);
    }

    fetch(url, {
      method: "POST", body: body, signal: ctl.signal, credentials: "same-origin",
      headers: { "Accept": "text/event-stream", "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      if (!resp.ok || type.indexOf("text/event-stream") !== 0 || !resp.body) {
        return resp.text().then(function (text) {
          var detail = "The service answered HTTP " + resp.status + ".";
          try {
            var doc = new DOMParser().parseFromString(text, "text/html");
            var d = doc.querySelector(".alert, main p");
            if (d && d.textContent.trim()) { detail = d.textContent.trim().replace(/\s+/g, " "); }
          } catch (e) { /* keep the status */ }
          finish(say(panel, "failed", "The check could not run", detail));
        });
      }
      return events(resp.body, function (name, data) {
        var m;
        try { m = JSON.parse(data); } catch (e) { return; }
        if (name === "start" && m.html) {
          var onCancel = document.activeElement === cancel;
          panel.innerHTML = m.html;
          addCancel();
          if (onCancel && panel.contains(cancel)) { cancel.focus({ preventScroll: true }); }
        } else if (name === "step") {
          var tmp = document.createElement("ol");
          tmp.innerHTML = m.html || "";
          var li = tmp.firstElementChild, list = panel.querySelector(".steps");
          if (li && list) {
            var old = list.querySelector('[data-step="' + m.name + '"]');
            if (old) { old.replaceWith(li); } else { list.appendChild(li); }
          }
          var t = panel.querySelector(".doing-text");
          if (t && m.doing) { t.textContent = m.doing; }
        } else if (name === "result") {
          panel.innerHTML = m.html || "";
          Object.keys(m.oob || {}).forEach(function (sel) {
            var target = document.querySelector(sel);
            if (target) { target.innerHTML = m.oob[sel]; }
          });
          place(panel, m.field);
          finish(panel.querySelector(".check-heading"));
        }
      }).then(function () {
        if (!settled) {
          finish(say(panel, "failed", "The check stopped", "The connection to the service ended before the check finished; check again."));
        }
      });
    }).catch(function (err) {
      if (settled) { return; }
      if (cancelled) {
        // Focus goes back to the Check button (Cancel is gone); the region says it ended.
        finish(say(panel, "cancelled", "Check cancelled.", ""), true);
      } else if (err && err.name === "AbortError") {
        settled = true; // replaced by a newer check, which owns the panel now
        if (!running || running.btn !== btn) { release(); }
      } else {
        finish(say(panel, "failed", "The check could not run",
          "The service could not be reached (" + (err && err.message ? err.message : "network error") + "); check your network and try again."));
      }
    });
  }

  // A page that comes with a result (a refused create shows its check) has it next to its field.
  function placeAll() {
    document.querySelectorAll(".check-region").forEach(function (panel) {
      var res = panel.querySelector(".check[data-field]");
      if (res) { place(panel, res.getAttribute("data-field")); }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", placeAll);
  } else {
    placeAll();
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-check]");
    if (!btn || btn.disabled) { return; }
    ev.preventDefault();
    if (btn.getAttribute("aria-disabled") === "true") { return; } // running: one check at a time
    start(btn);
  });
})();
