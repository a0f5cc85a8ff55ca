package browsertest

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focusSource is the focus-contrast rule run in the page (focus.js): see FocusContrast.
//
//go:embed focus.js
var focusSource string

// FocusMinRatio is the contrast WCAG 2.1 success criterion 1.4.11 (non-text contrast) asks of
// a focus indicator against the colours next to it, and FocusMinWidth the thickness in CSS px
// a band of the indicator needs to count (WCAG technique C40's two-colour indicator, and 2.4.13's
// "at least 2 CSS pixels thick").
const (
	FocusMinRatio = 3.0
	FocusMinWidth = 2.0
)

// FocusElement is what the rule measured on one element: its selector, its best band's
// contrast against the colours on both sides of the band (the lowest over the backgrounds
// found around the element), and what the indicator is ("outline 3px rgb(10, 48, 105) + ...").
type FocusElement struct {
	Target    string  `json:"target"`
	Ratio     float64 `json:"ratio"`
	Width     float64 `json:"width"`
	Indicator string  `json:"indicator"`
	// Background is the colour around the element the ratio was found against ("rgb(…)").
	Background string `json:"background"`
	// Problem says what fails ("" when the element passes).
	Problem string `json:"problem"`
}

// FocusReport is the outcome of FocusContrast on one page: every focusable element checked,
// the failures as axe-style violations (id "focus-contrast"), and the lowest ratio measured.
type FocusReport struct {
	Elements   []FocusElement `json:"elements"`
	Violations []Violation    `json:"violations"`
	// Worst is the element with the lowest ratio (zero value when nothing was checked).
	Worst FocusElement `json:"worst"`
	// NotVisible lists elements that did not match :focus-visible when focused after a Tab
	// key press: the rule could not see their keyboard focus style, which fails it too.
	NotVisible []string `json:"notVisible"`
}

// FocusContrast checks the keyboard focus indicator of every focusable element of the page
// (links with href, buttons, inputs, selects, textareas, summaries, elements with tabindex
// ≥ 0; not disabled, inert, hidden or of type hidden): it presses Tab once (a real key event,
// so Chromium's :focus-visible heuristics treat the following script focus as keyboard
// focus), then focuses each element in turn and reads its computed outline, box-shadow and
// border. It models the indicator as bands outward from the element's border edge (the
// outline at its offset and width, non-inset box-shadow rings by spread, inset rings inside
// the border, over the element's own background inside and the background around it outside),
// found by sampling the page just outside each side of the ring with elementsFromPoint and
// compositing the semi-transparent backgrounds of that element and its ancestors. A band
// counts when it is at least FocusMinWidth CSS px thick; its ratio is the lower of its contrast
// against the colours on its two sides. An element fails when its best band is under
// FocusMinRatio, when no band is thick enough or there is none, when focus changes none of
// outline, box-shadow, border, background, colour or text decoration, or when it does not match
// :focus-visible. Focus and scroll position are put back afterwards.
func FocusContrast(out *FocusReport) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		// The Tab press goes to a marker at the start of the body (so no key handler of the
		// page's own fields sees it) and moves focus to the first element (the skip link) as a
		// keyboard user's would; the script then restores the focus the page had before.
		var before string
		if err := chromedp.Evaluate(focusSaveJS, &before).Do(ctx); err != nil {
			return err
		}
		if err := tabFromStart(ctx); err != nil {
			return fmt.Errorf("press Tab: %w", err)
		}
		if err := chromedp.Evaluate(focusSource+fmt.Sprintf("(%v, %v)", FocusMinRatio, FocusMinWidth), out).Do(ctx); err != nil {
			return fmt.Errorf("focus contrast: %w", err)
		}
		return nil
	})
}

// focusSaveJS remembers the focused element and scroll position for focus.js to restore.
const focusSaveJS = `(() => { window.__rcFocusSaved = {el: document.activeElement, x: scrollX, y: scrollY}; return ''; })()`

// FirstTab presses Tab from the start of the page (as on a freshly loaded page) and returns, in sel,
// the selector-like description of where focus lands ("a.skip" for the skip link).
func FirstTab(sel *string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Evaluate(`window.scrollTo(0, 0), true`, nil).Do(ctx); err != nil {
			return err
		}
		if err := tabFromStart(ctx); err != nil {
			return err
		}
		return chromedp.Evaluate(`(() => { const e = document.activeElement; if (!e) return ''; return e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().split(/\s+/).join('.') : '') + (e.getAttribute('href') ? '[href="' + e.getAttribute('href') + '"]' : ''); })()`, sel).Do(ctx)
	})
}

// tabFromStart presses Tab with focus on a marker (tabindex -1) put at the start of the body,
// then removes the marker: focus moves to the first element of the page's tab order, as on a
// freshly loaded page, and no handler of the page's own elements sees the key.
func tabFromStart(ctx context.Context) error {
	if err := chromedp.Evaluate(`(() => { const m = document.createElement('span'); m.tabIndex = -1; m.id = '__rc-start';
  document.body.insertBefore(m, document.body.firstChild); m.focus({preventScroll: true}); return true; })()`, nil).Do(ctx); err != nil {
		return err
	}
	if err := chromedp.KeyEvent(kb.Tab).Do(ctx); err != nil {
		return err
	}
	return chromedp.Evaluate(`(() => { const m = document.getElementById('__rc-start'); if (m) m.remove(); return true; })()`, nil).Do(ctx)
}
