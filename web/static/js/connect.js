// repoconnect pages: connect, screen 1 of the import flow (see app.js for what every page
// shares). The form works without this script (the server renders it for the kind it was
// given); this keeps it in step as the kind or sign-in changes, fills the default name and
// moves focus to the error summary.
(function () {
  "use strict";

  // The connection type the form makes now: server-pat, services-pat or services-oauth.
  function currentType(form) {
    var kind = form.querySelector("input[name=kind]:checked");
    var auth = form.querySelector("input[name=auth]:checked");
    if (!kind) { return ""; }
    if (kind.value === "server") { return "server-pat"; }
    return auth && auth.value === "pat" ? "services-pat" : "services-oauth";
  }

  // Shows each [data-when] element for its types only; with no kind chosen, everything.
  function apply(form) {
    var t = currentType(form);
    var els = form.querySelectorAll("[data-when]");
    for (var i = 0; i < els.length; i++) {
      var types = (els[i].getAttribute("data-when") || "").split(/\s+/);
      els[i].hidden = t !== "" && types.indexOf(t) < 0;
    }
    var fields = form.querySelector("#server-fields");
    if (fields && t !== "") { fields.setAttribute("data-type", t); }
    var coll = form.querySelector("#collection");
    if (coll) {
      var ph = coll.getAttribute(t === "server-pat" ? "data-placeholder-server" : "data-placeholder-services");
      if (ph) { coll.setAttribute("placeholder", ph); }
    }
  }

  // The name a connection gets when none is typed: the organization, or the server's host.
  function defaultName(form) {
    var t = currentType(form);
    var coll = form.querySelector("#collection");
    if (t === "services-pat" || t === "services-oauth") { return coll ? coll.value.trim() : ""; }
    var server = form.querySelector("#serverUrl");
    if (server && server.value.trim() !== "") {
      try { return new URL(server.value.trim()).hostname; } catch (e) { /* not a URL yet */ }
    }
    var fields = form.querySelector("#server-fields");
    return fields ? fields.getAttribute("data-default-name") || "" : "";
  }

  // Fills #name with the default while the user has not typed a name of their own.
  function fillName(form) {
    var name = form.querySelector("#name");
    if (!name || name.getAttribute("data-auto") !== "true") { return; }
    name.value = defaultName(form);
  }

  function init(form) {
    if (form.getAttribute("data-connect-ready") === "true") { return; }
    form.setAttribute("data-connect-ready", "true");
    form.addEventListener("change", function (ev) {
      var n = ev.target && ev.target.name;
      if (n === "kind" || n === "auth") { apply(form); fillName(form); }
    });
    form.addEventListener("input", function (ev) {
      var id = ev.target && ev.target.id;
      if (id === "name") {
        // Typed by the user: kept from now on; emptied: the default comes back.
        var name = ev.target;
        name.setAttribute("data-auto", name.value.trim() === "" ? "true" : "false");
        return;
      }
      if (id === "collection" || id === "serverUrl") { fillName(form); }
    });
    apply(form);
    fillName(form);
  }

  // After htmx put in new fields (a parsed URL, with the kind switch out of band): show the
  // fields of the kind the URL picked and name the connection after it.
  // The URL field is marked invalid while the status under it holds the parser's refusal
  // (the server answers that status out of band, not the input, which is being typed in).
  document.addEventListener("htmx:afterSettle", function () {
    var form = document.querySelector("form[data-connect]");
    if (form) { apply(form); fillName(form); }
    var input = document.getElementById("remoteUrl");
    var status = document.getElementById("remoteUrl-status");
    if (input && status) {
      if (status.querySelector("[data-invalid]")) {
        input.setAttribute("aria-invalid", "true");
      } else if (!document.getElementById("remoteUrl-form-error")) {
        input.removeAttribute("aria-invalid");
      }
    }
  });

  // The error summary takes focus, so the problems are read first; its links move focus to
  // their field (a plain fragment link scrolls but leaves focus behind).
  function summary() {
    var s = document.querySelector("[data-error-summary]");
    if (!s) { return; }
    s.focus();
    s.addEventListener("click", function (ev) {
      var a = ev.target.closest && ev.target.closest("a[href^='#']");
      if (!a) { return; }
      var el = document.getElementById(a.getAttribute("href").slice(1));
      if (!el) { return; }
      ev.preventDefault();
      if (el.hidden || el.closest("[hidden]")) { return; }
      if (el.tabIndex < 0 && !/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(el.tagName)) { el.setAttribute("tabindex", "-1"); }
      var label = document.querySelector("label[for='" + el.id + "']") || el;
      label.scrollIntoView({ block: "center" });
      el.focus({ preventScroll: true });
    });
  }

  // ---- Waiting for the token check, once. The Connect form and the connection page's "Check
  // and replace the PAT" (form[data-busy-text]) are plain POSTs that check the token, up to
  // 30 s: on submit the form is aria-busy, its button says what it waits for and is
  // aria-disabled (still focusable: disabled would drop focus to <body>), and a second submit
  // is dropped (it would cancel the first navigation while the first POST made the
  // connection, then be refused as a duplicate). Coming back through the history cache resets it.
  var BUSY_TEXT = "Checking the token… up to 30 s";
  function waits(form) {
    return !!form && form.tagName === "FORM" && (form.classList.contains("connect") || form.hasAttribute("data-busy-text"));
  }
  function submitButton(form, ev) {
    if (ev && ev.submitter && form.contains(ev.submitter)) { return ev.submitter; }
    return form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
  }
  var saved = new WeakMap(); // button → its children before it said it waits
  function busyText(form) {
    var t = form.getAttribute("data-busy-text");
    if (t) { return t; }
    if (currentType(form) === "services-oauth") { return "Opening the Azure DevOps sign-in…"; }
    return BUSY_TEXT;
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!waits(form) || ev.defaultPrevented) { return; }
    if (form.getAttribute("data-submitting") === "true") {
      ev.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "true");
    form.setAttribute("aria-busy", "true");
    var btn = submitButton(form, ev);
    if (!btn) { return; }
    if (!saved.has(btn)) {
      saved.set(btn, btn.tagName === "INPUT" ? btn.value : Array.prototype.slice.call(btn.childNodes));
    }
    btn.setAttribute("aria-disabled", "true");
    btn.setAttribute("data-waiting", "true");
    if (btn.tagName === "INPUT") { btn.value = busyText(form); } else { btn.textContent = busyText(form); }
  });
  // A click on a waiting button does nothing (Enter in a field submits through the form, and
  // is dropped above).
  document.addEventListener("click", function (ev) {
    var btn = ev.target && ev.target.closest && ev.target.closest("[data-waiting]");
    if (btn) { ev.preventDefault(); }
  }, true);
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      if (!waits(form)) { return; }
      form.removeAttribute("data-submitting");
      form.removeAttribute("aria-busy");
    });
    document.querySelectorAll("[data-waiting]").forEach(function (btn) {
      var was = saved.get(btn);
      btn.removeAttribute("aria-disabled");
      btn.removeAttribute("data-waiting");
      if (was === undefined) { return; }
      if (btn.tagName === "INPUT") { btn.value = was; } else { btn.replaceChildren.apply(btn, was); }
      saved.delete(btn);
    });
  });

  function start() {
    var form = document.querySelector("form[data-connect]");
    if (form) { init(form); }
    summary();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
