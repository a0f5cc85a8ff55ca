// The focus-contrast rule (focus.go's FocusContrast), run in the page through DevTools. This
// file is one function expression; focus.go appends the call with the minimum ratio and width.
(function (minRatio, minWidth) {
  "use strict";
  const SEL = 'a[href], area[href], button, input, select, textarea, summary, iframe, [tabindex], [contenteditable=""], [contenteditable="true"]';

  function parse(c) {
    const m = /rgba?\(([^)]*)\)/.exec(c || "");
    if (!m) { return null; }
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function over(top, bottom) {
    if (!top) { return bottom; }
    const a = top.a;
    return { r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1 };
  }
  function lum(c) {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function ratio(x, y) {
    const a = lum(x), b = lum(y);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  function str(c) { return "rgb(" + Math.round(c.r) + ", " + Math.round(c.g) + ", " + Math.round(c.b) + ")"; }
  function same(x, y) { return Math.abs(x.r - y.r) < 0.5 && Math.abs(x.g - y.g) < 0.5 && Math.abs(x.b - y.b) < 0.5; }

  // The opaque colour an element paints: its background over its ancestors' (semi-transparent
  // layers composited), white under the root.
  function bgOf(el) {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) { break; } }
    }
    let res = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) { res = over(layers[i], res); }
    return res;
  }
  // What is painted at (x, y) behind el: the topmost element there that is not el or inside it.
  function behind(el, x, y) {
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) { return null; }
    for (const e of document.elementsFromPoint(x, y)) {
      if (e === el || el.contains(e)) { continue; }
      return bgOf(e);
    }
    return null;
  }
  // Box-shadows as computed: "rgb(…) 0px 0px 0px 2px, rgba(…) 1px 2px 3px 0px inset".
  function shadows(v) {
    if (!v || v === "none") { return []; }
    const out = [];
    for (const part of v.split(/,(?![^(]*\))/)) {
      const color = parse(part);
      const rest = part.replace(/rgba?\([^)]*\)/, "");
      const n = (rest.match(/-?[\d.]+px/g) || []).map(parseFloat);
      out.push({ color: color, x: n[0] || 0, y: n[1] || 0, blur: n[2] || 0, spread: n[3] || 0, inset: /\binset\b/.test(rest) });
    }
    return out;
  }
  function px(v) { const f = parseFloat(v); return isNaN(f) ? 0 : f; }

  // The indicator as bands outward from the border edge (d in CSS px, negative inside), over
  // the element's colour inside and outer outside.
  function bands(s, inner, outer) {
    const ow = s.outlineStyle !== "none" ? px(s.outlineWidth) : 0;
    const oo = px(s.outlineOffset);
    const oc = parse(s.outlineColor);
    const sh = shadows(s.boxShadow);
    const bw = s.borderTopStyle !== "none" ? px(s.borderTopWidth) : 0;
    const bc = parse(s.borderTopColor);
    let hi = Math.max(0, oo + ow);
    for (const x of sh) { if (!x.inset) { hi = Math.max(hi, x.spread - Math.max(Math.abs(x.x), Math.abs(x.y))); } }
    let lo = Math.min(-bw, oo);
    for (const x of sh) { if (x.inset) { lo = Math.min(lo, -bw - x.spread); } }
    lo -= 2; hi += 2;
    function at(d) {
      if (ow > 0 && oc && d >= oo && d < oo + ow) {
        return { c: over(oc, under(d).c), ind: "outline" };
      }
      return under(d);
    }
    function under(d) {
      if (d >= 0) {
        for (const x of sh) {
          if (!x.inset && x.color && d < x.spread - Math.max(Math.abs(x.x), Math.abs(x.y))) {
            return { c: over(x.color, outer), ind: "box-shadow" };
          }
        }
        return { c: outer, ind: "" };
      }
      if (d >= -bw && bc) { return { c: over(bc, inner), ind: "" }; }
      for (const x of sh) {
        if (x.inset && x.color && -d - bw < x.spread) { return { c: over(x.color, inner), ind: "box-shadow" }; }
      }
      return { c: inner, ind: "" };
    }
    const runs = [];
    const step = 0.25;
    for (let d = lo; d < hi; d += step) {
      const p = at(d);
      const last = runs[runs.length - 1];
      if (last && same(last.c, p.c)) {
        last.to = d + step;
        if (p.ind && last.ind.indexOf(p.ind) < 0) { last.ind = last.ind ? last.ind + "+" + p.ind : p.ind; }
      } else {
        runs.push({ c: p.c, ind: p.ind, from: d, to: d + step });
      }
    }
    return runs;
  }

  // The best band of the indicator against the colours beside it.
  function score(s, inner, outer) {
    const runs = bands(s, inner, outer);
    let best = null;
    runs.forEach(function (r, i) {
      if (!r.ind) { return; }
      const w = r.to - r.from;
      let lowest = Infinity;
      if (i > 0) { lowest = Math.min(lowest, ratio(r.c, runs[i - 1].c)); }
      if (i < runs.length - 1) { lowest = Math.min(lowest, ratio(r.c, runs[i + 1].c)); }
      const cand = { ratio: lowest, width: w, color: str(r.c), ind: r.ind };
      const thick = w >= minWidth - 0.01;
      if (!best || (thick && !best.thick) || (thick === best.thick && cand.ratio > best.ratio)) {
        cand.thick = thick;
        best = cand;
      }
    });
    return best;
  }

  function selectorOf(el) {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
      if (e.id) { parts.unshift("#" + CSS.escape(e.id)); break; }
      let p = e.tagName.toLowerCase();
      if (e.classList.length) { p += "." + Array.from(e.classList).map(CSS.escape).join("."); }
      const sib = e.parentElement ? Array.from(e.parentElement.children).filter((x) => x.tagName === e.tagName) : [];
      if (sib.length > 1) { p += ":nth-of-type(" + (sib.indexOf(e) + 1) + ")"; }
      parts.unshift(p);
    }
    return parts.join(" > ");
  }
  function look(s) {
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.outlineOffset, s.boxShadow, s.borderTopColor, s.borderBottomColor,
      s.backgroundColor, s.color, s.textDecorationLine].join("|");
  }
  function candidate(el) {
    if (el.disabled || el.closest("[inert]") || (el.tagName === "INPUT" && el.type === "hidden")) { return false; }
    if (el.tabIndex < 0) { return false; }
    if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) { return false; }
    if (el.getClientRects().length === 0) { return false; }
    // Inside a closed <details>, only the summary is shown.
    const d = el.parentElement && el.parentElement.closest("details:not([open])");
    if (d && !(el.tagName === "SUMMARY" && el.parentElement === d)) { return false; }
    return true;
  }

  const saved = window.__rcFocusSaved || { el: document.activeElement, x: scrollX, y: scrollY };
  const report = { elements: [], violations: [], worst: { target: "", ratio: 0, width: 0, indicator: "", background: "", problem: "" }, notVisible: [] };
  let worst = null;
  const els = Array.from(document.querySelectorAll(SEL)).filter(candidate);
  // The element the Tab press focused is seen unfocused only once another one has focus.
  const startActive = document.activeElement;
  let deferred = null;
  for (const el of els) {
    const beforeLook = el === startActive ? null : look(getComputedStyle(el));
    el.focus({ preventScroll: false });
    if (document.activeElement !== el) { continue; }
    const target = selectorOf(el);
    if (!el.matches(":focus-visible")) { report.notVisible.push(target); continue; }
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    let ext = Math.max(0, px(s.outlineOffset) + (s.outlineStyle !== "none" ? px(s.outlineWidth) : 0));
    for (const x of shadows(s.boxShadow)) { if (!x.inset) { ext = Math.max(ext, x.spread + Math.max(Math.abs(x.x), Math.abs(x.y))); } }
    ext += 2;
    const mx = (r.left + r.right) / 2, my = (r.top + r.bottom) / 2;
    const outers = [];
    for (const p of [[r.left - ext, my], [r.right + ext, my], [mx, r.top - ext], [mx, r.bottom + ext]]) {
      const c = behind(el, p[0], p[1]);
      if (c && !outers.some((o) => same(o, c))) { outers.push(c); }
    }
    if (outers.length === 0) { outers.push(bgOf(el.parentElement || document.body)); }
    let res = null;
    for (const outer of outers) {
      const inner = over(parse(s.backgroundColor), outer);
      const b = score(s, inner, outer);
      const cand = b ? { ratio: b.ratio, width: b.width, indicator: b.ind + " " + b.width + "px " + b.color, background: str(outer), thick: b.thick }
        : { ratio: 0, width: 0, indicator: "none", background: str(outer), thick: false };
      if (!res || (res.thick && !cand.thick) || (res.thick === cand.thick && cand.ratio < res.ratio)) { res = cand; }
    }
    let problem = "";
    if (beforeLook === null) { deferred = { el: el, look: look(s) }; }
    if (beforeLook !== null && beforeLook === look(s)) {
      problem = "focus changes nothing on the element (no outline, box-shadow, border, background or colour change)";
    } else if (res.indicator === "none") {
      problem = "no focus indicator (outline or box-shadow ring)";
    } else if (!res.thick) {
      problem = "focus indicator " + res.width + " CSS px thick, under " + minWidth;
    } else if (res.ratio < minRatio) {
      problem = "focus indicator " + res.ratio.toFixed(2) + ":1 against " + res.background + ", under " + minRatio + ":1";
    }
    const fe = { target: target, ratio: Math.round(res.ratio * 100) / 100, width: res.width, indicator: res.indicator, background: res.background, problem: problem };
    report.elements.push(fe);
    if (problem) {
      report.violations.push({ id: "focus-contrast", impact: "serious", help: "Focus indicator: " + problem + " (WCAG 1.4.11)", targets: [target] });
    }
    if (!worst || fe.ratio < worst.ratio) { worst = fe; }
  }
  if (deferred && document.activeElement !== deferred.el && look(getComputedStyle(deferred.el)) === deferred.look) {
    const target = selectorOf(deferred.el);
    const fe = report.elements.find((e) => e.target === target);
    if (fe && !fe.problem) {
      fe.problem = "focus changes nothing on the element (no outline, box-shadow, border, background or colour change)";
      report.violations.push({ id: "focus-contrast", impact: "serious", help: "Focus indicator: " + fe.problem + " (WCAG 1.4.11)", targets: [target] });
    }
  }
  if (worst) { report.worst = worst; }
  // Put focus and scroll back as they were.
  if (document.activeElement && document.activeElement.blur) { document.activeElement.blur(); }
  if (saved.el && saved.el !== document.body && saved.el.isConnected && saved.el.focus) {
    saved.el.focus({ preventScroll: true });
  } else {
    // Back to the start of the document for the next Tab, as on a fresh page.
    const m = document.createElement("span");
    m.tabIndex = -1;
    document.body.insertBefore(m, document.body.firstChild);
    m.focus({ preventScroll: true });
    m.remove();
  }
  window.scrollTo(saved.x, saved.y);
  delete window.__rcFocusSaved;
  return report;
})
