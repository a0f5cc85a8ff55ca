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

// axeRun runs the WCAG 2.0/2.1 A and AA rules on the whole document and keeps what failed.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
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
