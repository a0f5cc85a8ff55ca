// repoconnect pages: the import flow's screens 2 (Choose) and 3 (Configure and run). Every
// part runs only when its elements are on the page, and the pages work without it: the filter
// form is submitted (open=1 opens the only match), the branch is typed, the form is posted.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }
  function htmxReady() { return typeof window.htmx !== "undefined"; }

  // ---- Screen 2: the repository filter ----

  // pendingOpen: Enter was pressed while the list for what was typed was still coming; open
  // the match when it arrives (if it is the only one).
  var pendingOpen = false;
  // moreFrom: the number of rows before "Show more" was asked, to focus the first new one.
  var moreFrom = -1;

  // freshList is the repository list when it shows what the filter holds, else null.
  function freshList(filter) {
    var list = byId("repo-list");
    if (!list || list.getAttribute("aria-busy") === "true" || !list.hasAttribute("data-total")) { return null; }
    if ((list.getAttribute("data-query") || "") !== filter.value.trim()) { return null; }
    return list;
  }

  // enterOnList opens the only match, or moves to the first result when there are several.
  function enterOnList(list) {
    var single = list.getAttribute("data-single");
    if (single) {
      window.location.assign(single);
      return;
    }
    if (Number(list.getAttribute("data-total")) > 1) {
      var first = list.querySelector("a.repo-name");
      if (first) { first.focus(); }
    }
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (!t || t.id !== "repo-filter" || ev.key !== "Enter" || ev.isComposing || !htmxReady()) { return; }
    ev.preventDefault(); // without script the form is submitted: the server opens the only match
    var list = freshList(t);
    if (list) {
      enterOnList(list);
      return;
    }
    pendingOpen = true;
    window.htmx.trigger(t, "retry"); // ask now rather than after the typing delay
  });

  document.addEventListener("input", function (ev) {
    if (ev.target && ev.target.id === "repo-filter") { pendingOpen = false; }
  });

  // ---- Waits and failures in place ----

  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt) { return; }
    if (elt.id === "repo-filter") {
      var list = byId("repo-list");
      if (list) { list.setAttribute("aria-busy", "true"); }
    }
    if (elt.hasAttribute && elt.hasAttribute("data-more")) {
      moreFrom = document.querySelectorAll("#repo-rows > li.repo").length;
      elt.setAttribute("aria-disabled", "true");
      elt.textContent = "Loading more…";
    }
  });

  // failInPlace replaces target with a message that says the request got no answer, and a
  // Retry button (the server's own failures come as fragments with their reason).
  // The targets whose failures this script says itself: app.js leaves them alone
  // ([data-own-failure]), so there is one box and one focus move. A swap brings a new element,
  // so they are marked again after each one.
  var OWN = ["repo-list", "repo-more", "branch-results"];
  function markOwn() {
    OWN.forEach(function (id) {
      var e = byId(id);
      if (e && !e.hasAttribute("data-own-failure")) { e.setAttribute("data-own-failure", ""); }
    });
  }
  markOwn();
  document.addEventListener("htmx:beforeRequest", markOwn, true);
  document.addEventListener("htmx:load", markOwn);

  function failInPlace(target, what, why, retry, focus) {
    var box = document.createElement(target.tagName === "LI" ? "li" : "div");
    box.id = target.id;
    box.className = "request-failed alert error" + (target.tagName === "LI" ? " repo-more" : "");
    box.setAttribute("role", "alert");
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = what + " could not be loaded.";
    p.appendChild(strong);
    p.appendChild(document.createTextNode(" " + why));
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "retry secondary";
    btn.textContent = "Retry";
    btn.addEventListener("click", retry);
    box.appendChild(p);
    box.appendChild(btn);
    box.setAttribute("data-own-failure", "");
    target.replaceWith(box);
    // The user was on what failed (typing in the filter or the branch, or on Show more, now
    // gone): the Retry takes the focus, so it never falls to <body>.
    if (focus || !document.activeElement || document.activeElement === document.body) { btn.focus(); }
  }

  function noAnswer(ev) {
    var d = ev.detail || {};
    var elt = d.elt;
    var target = d.target || (elt && elt.id === "repo-filter" ? byId("repo-list") : null);
    if (!target || !target.id) { return; }
    var why = ev.type === "htmx:timeout"
      ? "The service did not answer in time; it may be busy reading a large organization. Try again."
      : "The service could not be reached; check the network connection, then try again.";
    var url = elt && elt.getAttribute ? elt.getAttribute("hx-get") : null;
    var active = document.activeElement;
    var hadFocus = !!active && active !== document.body &&
      ((elt && elt.contains && elt.contains(active)) || target.contains(active) ||
        active.id === "repo-filter" || active.id === "branch");
    if (target.id === "repo-list") {
      pendingOpen = false;
      failInPlace(target, "The repositories", why, function () {
        var f = byId("repo-filter");
        if (f) { f.focus(); window.htmx.trigger(f, "retry"); } else if (url) { window.htmx.ajax("GET", url, { target: "#repo-list", swap: "outerHTML" }); }
      }, hadFocus);
    } else if (target.id === "repo-more" && url) {
      failInPlace(target, "The next repositories", why, function () {
        window.htmx.ajax("GET", url, { target: "#repo-more", swap: "outerHTML" });
      }, hadFocus);
    } else if (target.id === "branch-results") {
      var input = byId("branch");
      if (input) { input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); }
      failInPlace(target, "The branches", why + " You can still type a branch's full name.", function () {
        var b = byId("branch");
        if (b) { b.focus(); window.htmx.trigger(b, "retry"); }
      }, hadFocus);
    }
  }
  document.addEventListener("htmx:sendError", noAnswer);
  document.addEventListener("htmx:timeout", noAnswer);

  document.addEventListener("htmx:afterSettle", function () {
    var filter = byId("repo-filter");
    var list = filter ? freshList(filter) : null;
    if (pendingOpen && list) {
      pendingOpen = false;
      enterOnList(list);
    }
    if (moreFrom >= 0) {
      var rows = document.querySelectorAll("#repo-rows > li.repo");
      var row = rows[moreFrom];
      moreFrom = -1;
      if (row) {
        var link = row.querySelector("a.repo-name");
        if (!link) { row.setAttribute("tabindex", "-1"); link = row; }
        link.focus();
      }
    }
    syncCombobox();
  });

  // ---- Screen 3: the branch combobox ----

  function combo() { return byId("branch"); }
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#branch-options [role=option]")); }

  function setExpanded(open) {
    var input = combo();
    var results = byId("branch-results");
    var has = !!byId("branch-options");
    if (!input) { return; }
    open = open && has;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (results) { results.classList.toggle("open", open); }
    if (!open) { setActive(null); }
  }

  function setActive(opt) {
    var input = combo();
    options().forEach(function (o) { o.classList.toggle("active", o === opt); });
    if (!input) { return; }
    if (opt) {
      input.setAttribute("aria-activedescendant", opt.id);
      opt.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function updateLabels() {
    var input = combo();
    if (!input) { return; }
    var name = input.value.trim() || input.getAttribute("data-default") || "";
    document.querySelectorAll("[data-branch-label]").forEach(function (el) { el.textContent = name; });
  }

  function choose(opt) {
    var input = combo();
    if (!input || !opt) { return; }
    input.value = opt.getAttribute("data-value");
    options().forEach(function (o) { o.setAttribute("aria-selected", o === opt ? "true" : "false"); });
    setExpanded(false);
    updateLabels();
  }

  // syncCombobox re-applies the open state after the options were replaced.
  function syncCombobox() {
    var input = combo();
    if (!input) { return; }
    var field = input.closest(".branch-field");
    if (field) { field.classList.add("js-combobox"); }
    setExpanded(document.activeElement === input && input.getAttribute("data-open") === "true");
  }

  document.addEventListener("focusin", function (ev) {
    if (ev.target && ev.target.id === "branch") {
      ev.target.setAttribute("data-open", "true");
      setExpanded(true);
    }
  });
  document.addEventListener("focusout", function (ev) {
    if (ev.target && ev.target.id === "branch") {
      ev.target.setAttribute("data-open", "false");
      setExpanded(false);
      updateLabels(); // what was typed is the branch, once the field is left
    }
  });
  document.addEventListener("input", function (ev) {
    if (ev.target && ev.target.id === "branch") {
      ev.target.setAttribute("data-open", "true");
      setExpanded(true);
    }
  });
  // An option is chosen with the mouse without taking the focus from the field.
  document.addEventListener("mousedown", function (ev) {
    var opt = ev.target && ev.target.closest && ev.target.closest("#branch-options [role=option]");
    if (opt) {
      ev.preventDefault();
      choose(opt);
    }
  });
  document.addEventListener("keydown", function (ev) {
    var input = ev.target;
    if (!input || input.id !== "branch") { return; }
    var opts = options();
    var open = input.getAttribute("aria-expanded") === "true";
    var activeID = input.getAttribute("aria-activedescendant");
    var at = opts.findIndex(function (o) { return o.id === activeID; });
    switch (ev.key) {
      case "ArrowDown":
      case "ArrowUp":
        ev.preventDefault();
        if (!open) { input.setAttribute("data-open", "true"); setExpanded(true); }
        if (!opts.length) { return; }
        if (ev.key === "ArrowDown") { at = at < 0 ? 0 : Math.min(at + 1, opts.length - 1); } else { at = at <= 0 ? 0 : at - 1; }
        setActive(opts[at]);
        break;
      case "Enter":
        if (open && at >= 0) {
          ev.preventDefault();
          choose(opts[at]);
        } else if (open && opts.length === 1 && opts[0].getAttribute("data-value") !== input.value) {
          ev.preventDefault();
          choose(opts[0]);
        }
        break;
      case "Escape":
        if (open) {
          ev.preventDefault();
          input.setAttribute("data-open", "false");
          setExpanded(false);
        }
        break;
    }
  });

  // ---- Screen 3: one submission, and the error summary ----

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form || !form.classList || !form.classList.contains("configure-form")) { return; }
    if (form.getAttribute("data-submitting") === "true") {
      ev.preventDefault(); // a second click would create the profile twice (the second is refused)
      return;
    }
    form.setAttribute("data-submitting", "true");
    form.setAttribute("aria-busy", "true");
    var btn = ev.submitter;
    if (btn) {
      btn.setAttribute("aria-disabled", "true");
      btn.textContent = btn.id === "create-and-run" ? "Creating and starting…" : "Creating…";
    }
  });
  // A page coming back from the history cache can be submitted again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.configure-form[data-submitting]").forEach(function (f) {
      f.removeAttribute("data-submitting");
      f.removeAttribute("aria-busy");
    });
  });

  // The summary's links move the focus to their field (a fragment link only scrolls).
  document.addEventListener("click", function (ev) {
    var a = ev.target && ev.target.closest && ev.target.closest("[data-error-summary] a[href^='#']");
    if (!a) { return; }
    var field = byId(a.getAttribute("href").slice(1));
    if (!field) { return; }
    ev.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']") || field;
    label.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });

  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  syncCombobox();
  updateLabels();
})();
