package app_test

import (
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
)

// axeViolation is one rule axe-core found broken on a page, with the
// elements that break it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRunJS runs every axe-core rule over the whole page and keeps only what
// the test reports: the violations, each with its elements' selectors.
const axeRunJS = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact || '', help: v.help,
  targets: v.nodes.map(n => n.target.join(' '))})))`

// loadAxe reads axe-core's axe.min.js from $BROKER_AXE_JS, which `make test`
// fetches (a pinned version from npm) and sets. Without it the check fails
// rather than skips: an accessibility check that silently does not run
// proves nothing.
func loadAxe(t *testing.T) string {
	t.Helper()
	path := os.Getenv("BROKER_AXE_JS")
	if path == "" {
		t.Fatal("BROKER_AXE_JS is not set: run `make test` (it fetches axe-core from npm and sets it), " +
			"or set BROKER_AXE_JS to the path of axe-core's axe.min.js")
	}
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("BROKER_AXE_JS: %v (run `make test`, which fetches axe-core)", err)
	}
	return string(js)
}

// runAxe injects axe-core into the page the browser shows and runs it. The
// script goes in through the DevTools protocol, which the page's CSP does not
// govern, so the page is checked under the broker's real CSP, unchanged.
func runAxe(t *testing.T, b *browsertest.Browser, axeJS string) []axeViolation {
	t.Helper()
	b.Do("inject axe-core", chromedp.Evaluate[chromedp.Void](axeJS))
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]axeViolation](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	return v
}

// seriousAxe is the part of an axe report the issue forbids: violations
// of serious or critical impact, one line each with its elements.
func seriousAxe(vs []axeViolation) []string {
	var out []string
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v.Impact+" "+v.ID+": "+v.Help+" — "+strings.Join(v.Targets, ", "))
		}
	}
	sort.Strings(out)
	return out
}

// TestAxeFindsViolations: the check TestPages makes can fail. On a page
// with faint text, an unlabelled field and an image without alternative
// text, runAxe and seriousAxe report each of them.
func TestAxeFindsViolations(t *testing.T) {
	axeJS := loadAxe(t)
	b := browsertest.New(t, browsertest.Options{Width: 1366, Height: 900, Timeout: 2 * time.Minute})
	page := `<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>` +
		`<p style="color:#bbb;background:#fff">Faint text</p><input type="text">` +
		`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">` + `</main></body></html>`
	b.Do("open a bad page", chromedp.Navigate("data:text/html,"+url.PathEscape(page)), chromedp.WaitReady(chromedp.CSS("main")))
	bad := strings.Join(seriousAxe(runAxe(t, b, axeJS)), "\n")
	for _, rule := range []string{"serious color-contrast", "critical label", "critical image-alt"} {
		if !strings.Contains(bad, rule+":") {
			t.Errorf("axe did not report %s; it reported:\n%s", rule, bad)
		}
	}
}
