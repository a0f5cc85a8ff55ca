package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core 4.14.1 (vendor/fetch.sh), the accessibility rules engine.
//
//go:embed vendor/axe.min.js
var axeSource string

// Violation is one failed accessibility rule of axe-core: its id ("color-contrast",
// "label", ...), impact ("minor" to "critical"), help text and the failing elements' selectors.
type Violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// axeRun runs the WCAG 2.0/2.1 A and AA rules on the whole document and keeps what failed,
// and also the colour contrasts axe left "incomplete" although it measured a ratio below the
// one required (it does so for an element that partly overlaps another, as a link-styled
// button in a line of text: white text on white once passed as incomplete at 1:1). Those
// whose background it could not determine (no ratio) stay out.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
  .then(r => r.violations.concat(r.incomplete.filter(v => v.id === 'color-contrast').map(v => Object.assign({}, v, {
      id: 'color-contrast-measured-in-incomplete',
      nodes: v.nodes.filter(n => n.any.some(a => a.data && a.data.contrastRatio > 0 &&
        a.data.contrastRatio < parseFloat(a.data.expectedContrastRatio)))})).filter(v => v.nodes.length > 0))
    .map(v => ({id: v.id, impact: v.impact || '', help: v.help,
      targets: v.nodes.map(n => n.target.join(' '))})))`

// Axe checks the current page with axe-core (injected through DevTools, so the page's
// Content-Security-Policy does not apply to it) and stores the violations in out.
func Axe(out *[]Violation) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var loaded bool
		if err := chromedp.Evaluate(`typeof axe !== 'undefined'`, &loaded).Do(ctx); err != nil {
			return err
		}
		if !loaded {
			if err := chromedp.Evaluate(axeSource+";true", &loaded).Do(ctx); err != nil {
				return fmt.Errorf("load axe-core: %w", err)
			}
		}
		return chromedp.Evaluate(axeRun, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}).Do(ctx)
	})
}
