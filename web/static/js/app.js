// repoconnect pages: behaviour shared by every page. Served from this origin only (the pages'
// Content-Security-Policy allows no inline script); every page works without it, this adds
// convenience on top.
(function () {
  "use strict";

  // Copy buttons: <button type="button" data-copy="#selector">Copy</button> copies the text of
  // the element the selector names, then says "Copied" for a moment (announced: the button's
  // own text changes, and it sits in a live region when the page gives one).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "sr-only";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      ta.remove();
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-copy]");
    if (!btn) { return; }
    var target = document.querySelector(btn.getAttribute("data-copy"));
    if (!target) { return; }
    var label = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", label);
    copyText(target.textContent.trim()).then(function () {
      btn.textContent = "Copied";
      btn.setAttribute("data-copied", "true");
    }, function () {
      btn.textContent = "Select and copy by hand";
    }).finally(function () {
      setTimeout(function () { btn.textContent = label; btn.removeAttribute("data-copied"); }, 2000);
    });
  });

  // ---- Errors take focus. A page or a swapped-in fragment that brings an error summary
  // ([data-error-summary]) or a page-level error (.alert.error[role=alert]) moves focus to it,
  // so keyboard and screen reader users land on what went wrong. Inside [data-no-focus] an
  // error stays where it is; a script of a part that moved focus itself into the new content
  // (to a result's heading, say) is left alone.
  function focusable(el) {
    if (!el.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(el.tagName)) {
      el.setAttribute("tabindex", "-1");
    }
    return el;
  }
  // A field's error: the .field-error its aria-describedby names, else the field itself.
  function fieldError(input) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/);
    for (var i = 0; i < ids.length; i++) {
      var e = ids[i] && document.getElementById(ids[i]);
      if (e && e.classList.contains("field-error")) { return e; }
    }
    return input;
  }
  // errorIn finds the error to focus in root: an error summary, a page-level error, a field's
  // error. onLoad: the page as it came, where the runs part shows history (a past run's
  // failure), not this request's error, so alerts inside #clone, #runs and .run-result are left.
  function errorIn(root, onLoad) {
    if (!root || !root.querySelector) { return null; }
    var pick = function (sel) {
      var list = [];
      if (root.matches && root.matches(sel)) { list.push(root); }
      Array.prototype.push.apply(list, root.querySelectorAll(sel));
      for (var i = 0; i < list.length; i++) {
        var e = list[i];
        if (e.closest("[data-no-focus]") || e.getClientRects().length === 0) { continue; }
        if (onLoad && e.closest("#clone, #runs, .run-result")) { continue; }
        return e;
      }
      return null;
    };
    var found = pick("[data-error-summary]") || pick(".alert.error[role=alert]") || pick(".field-error[role=alert]");
    if (found || !onLoad) { return found; }
    var bad = pick("[aria-invalid=true]");
    return bad ? fieldError(bad) : null;
  }
  function isTextEntry(el) {
    return !!el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && !/^(button|submit|reset|checkbox|radio)$/.test(el.type)));
  }
  function takeFocus(el) {
    if (!el || document.activeElement === el) { return; }
    focusable(el).focus();
  }
  try {
    var main = document.querySelector("main");
    var first = errorIn(main, true);
    if (first) {
      takeFocus(first);
      if (!first.hasAttribute("data-error-summary") && first.scrollIntoView) {
        var r = first.getBoundingClientRect();
        if (r.top < 0 || r.bottom > window.innerHeight) { first.scrollIntoView({ block: "center" }); }
      }
    }
  } catch (e) { /* never break the page */ }

  // ---- A page answered to a POST (the new profile after Create and run, a rotated hook
  // password, saved settings, a replaced PAT) names its own address in [data-canonical]: the
  // address bar is set to it, so a reload GETs the page instead of posting again. Only
  // same-origin paths under /ui/ are taken.
  try {
    var canon = document.querySelector("main[data-canonical]") || document.querySelector("[data-canonical]");
    var want = canon && canon.getAttribute("data-canonical");
    if (want && want.charAt(0) === "/" && want.charAt(1) !== "/" && want.indexOf("\\") < 0 && window.history && history.replaceState) {
      var u = new URL(want, location.href);
      if (u.origin === location.origin && u.pathname.indexOf("/ui/") === 0) {
        var to = u.pathname + u.search + (u.hash || location.hash);
        if (to !== location.pathname + location.search + location.hash) { history.replaceState(null, "", to); }
      }
    }
  } catch (e) { /* never break the page */ }

  // ---- Every wait shows, nothing waits forever (htmx requests).
  // The service bounds each call to Azure DevOps at 30 s (the driver's DefaultTimeout), so a
  // request of the pages that has had no answer in 35 s will not get one: it is ended and
  // said so in place. An element can ask for another bound with hx-request='{"timeout": ms}'.
  var TIMEOUT_MS = 35000;
  if (window.htmx && htmx.config && !htmx.config.timeout) { htmx.config.timeout = TIMEOUT_MS; }

  var busyCount = new WeakMap();
  function busy(target, on) {
    if (!target || !target.setAttribute) { return; }
    var n = (busyCount.get(target) || 0) + (on ? 1 : -1);
    if (n <= 0) { busyCount.delete(target); target.removeAttribute("aria-busy"); return; }
    busyCount.set(target, n);
    target.setAttribute("aria-busy", "true");
  }
  // The button a request came from: the element itself, or the form's submitter.
  function buttonOf(detail) {
    var elt = detail.elt;
    if (!elt || !elt.tagName) { return null; }
    if (elt.tagName === "BUTTON" || (elt.tagName === "INPUT" && /^(submit|button)$/.test(elt.type))) { return elt; }
    if (elt.tagName === "FORM") {
      var ev = detail.requestConfig && detail.requestConfig.triggeringEvent;
      if (ev && ev.submitter) { return ev.submitter; }
      return elt.querySelector("button[type=submit], button:not([type]), input[type=submit]");
    }
    return null;
  }
  // A busy button stays focusable (disabled would drop focus to <body>) but is aria-disabled
  // and refuses clicks and submits until its request ends: no double submit.
  function hold(btn, form) {
    if (!btn || btn.hasAttribute("data-keep-enabled") || btn.closest("[hx-disabled-elt],[data-hx-disabled-elt],[data-keep-enabled]")) { return null; }
    btn.setAttribute("aria-disabled", "true");
    btn.setAttribute("data-busy", "");
    if (form) { form.setAttribute("data-busy", ""); }
    return function () {
      btn.removeAttribute("aria-disabled");
      btn.removeAttribute("data-busy");
      if (form) { form.removeAttribute("data-busy"); }
    };
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-busy]");
    if (btn && btn.tagName !== "FORM") { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("submit", function (ev) {
    if (ev.target.hasAttribute && ev.target.hasAttribute("data-busy")) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);

  var releases = new WeakMap(); // request (its XMLHttpRequest) → what to undo when it ends
  var failed = new WeakMap(); // element → its failure message, one at a time
  document.addEventListener("htmx:beforeRequest", function (ev) {
    try {
      var d = ev.detail || {};
      var elt = d.elt || ev.target;
      var old = failed.get(elt);
      if (old) { old.remove(); failed.delete(elt); }
      busy(d.target, true);
      var btn = buttonOf(d);
      var release = hold(btn, elt && elt.tagName === "FORM" ? elt : null);
      releases.set(d.xhr || elt, { target: d.target, release: release });
    } catch (e) { /* never break a request */ }
  });
  document.addEventListener("htmx:afterRequest", function (ev) {
    try {
      var d = ev.detail || {};
      var key = d.xhr || d.elt || ev.target;
      var r = releases.get(key);
      if (!r) { return; }
      releases.delete(key);
      busy(r.target, false);
      if (r.release) { r.release(); }
    } catch (e) { /* never break a request */ }
  });

  // A request that failed says why where its answer would have gone, with Retry.
  function failure(ev, kind) {
    var d = ev.detail || {};
    var elt = d.elt, target = d.target, cfg = d.requestConfig || {};
    // A part that says its own failures (picker.js marks its targets [data-own-failure])
    // keeps them: one box, one Retry, one focus move.
    if (kind !== "response" && target && target.closest && target.closest("[data-own-failure]")) { return; }
    var host = location.host;
    var box = document.createElement("div");
    box.className = "alert error request-failed";
    box.setAttribute("role", "alert");
    box.setAttribute("data-request-failed", kind);
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    var why;
    if (kind === "timeout") {
      var ms = cfg.timeout || htmx.config.timeout || TIMEOUT_MS;
      strong.textContent = "No answer from repoconnect in " + (ms >= 1000 ? Math.round(ms / 1000) + " s." : ms + " ms.");
      why = " The request to " + host + " was stopped. Retry, or reload the page.";
    } else if (kind === "response") {
      var xhr = d.xhr || {};
      strong.textContent = "The request failed.";
      why = " The service at " + host + " answered " + (xhr.status || "with an error") + (xhr.statusText ? " " + xhr.statusText : "") + ". Retry, or reload the page.";
    } else {
      strong.textContent = "Could not reach repoconnect.";
      why = " The connection to " + host + " failed: the service may be stopped or the network down. Retry when it is back.";
    }
    p.appendChild(strong);
    p.appendChild(document.createTextNode(why));
    box.appendChild(p);
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "secondary retry";
    retry.textContent = "Retry";
    box.appendChild(retry);

    var hadFocus = !document.activeElement || document.activeElement === document.body ||
      (elt && elt.contains && elt.contains(document.activeElement)) || !document.activeElement.isConnected;
    var key = elt || target;
    var old = key && failed.get(key);
    if (old) { old.remove(); }
    var inPlace = target && target.isConnected && !(elt && target !== elt && target.contains(elt)) &&
      !/^(TR|TBODY|THEAD|TABLE|UL|OL|SELECT|BUTTON|INPUT|TEXTAREA|A)$/.test(target.tagName);
    if (inPlace) {
      target.replaceChildren(box);
    } else if (elt && elt.isConnected) {
      elt.insertAdjacentElement("afterend", box);
    } else {
      var alerts = document.getElementById("alerts") || document.querySelector("main") || document.body;
      alerts.appendChild(box);
    }
    if (key) { failed.set(key, box); }
    retry.addEventListener("click", function () {
      box.remove();
      if (key) { failed.delete(key); }
      var trig = cfg.triggeringEvent;
      // Focus goes back to what asked (the Retry button is gone), then the request again.
      if (elt && elt.isConnected && elt.focus && elt.matches("button, a[href], input, select, textarea, [tabindex]")) { elt.focus(); }
      if (elt && elt.isConnected) {
        if (trig && trig.type === "submit" && elt.tagName === "FORM" && elt.requestSubmit) {
          elt.requestSubmit(trig.submitter && trig.submitter.isConnected ? trig.submitter : undefined);
          return;
        }
        if (trig && trig.type === "click") { elt.click(); return; }
        htmx.ajax(cfg.verb || "get", cfg.path, { source: elt, target: target && target.isConnected ? target : undefined });
        return;
      }
      if (target && target.isConnected && cfg.path) {
        var values = {};
        if (cfg.formData && cfg.formData.forEach) { cfg.formData.forEach(function (v, k) { if (typeof v === "string") { values[k] = v; } }); }
        htmx.ajax(cfg.verb || "get", cfg.path, { target: target, values: values });
        return;
      }
      location.reload();
    });
    if (hadFocus) { retry.focus(); } else if (box.scrollIntoView) { box.scrollIntoView({ block: "nearest" }); }
  }
  document.addEventListener("htmx:sendError", function (ev) { try { failure(ev, "send"); } catch (e) { /* never throw */ } });
  document.addEventListener("htmx:timeout", function (ev) { try { failure(ev, "timeout"); } catch (e) { /* never throw */ } });
  document.addEventListener("htmx:responseError", function (ev) { try { failure(ev, "response"); } catch (e) { /* never throw */ } });

  // After a swap that brings an error, focus it (after the part's own handlers have run).
  function afterSwap(ev) {
    var root = ev.target;
    setTimeout(function () {
      try {
        if (!root || !root.isConnected) { return; }
        var err = errorIn(root);
        if (!err) { return; }
        var active = document.activeElement;
        if (active && active !== document.body && root.contains(active)) { return; }
        if (!err.hasAttribute("data-error-summary") && isTextEntry(active) && !root.contains(active)) { return; }
        takeFocus(err);
      } catch (e) { /* never throw */ }
    }, 0);
  }
  document.addEventListener("htmx:afterSettle", afterSwap);
  document.addEventListener("htmx:oobAfterSwap", afterSwap);
})();
