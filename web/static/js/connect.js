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
  document.addEventListener("htmx:afterSettle", function () {
    var form = document.querySelector("form[data-connect]");
    if (form) { apply(form); fillName(form); }
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
