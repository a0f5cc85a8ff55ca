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
})();
