package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/store"
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

// morePages are the pages TestPages holds to axe-core besides the ones it
// measures: confirmations, settings, webhooks, the end user's connect page
// and the error pages.
func morePages(t *testing.T, s pagesSite) [][2]string {
	t.Helper()
	ctx := context.Background()
	projects, err := s.store.ListProjects(ctx, s.seed.TenantID)
	if err != nil || len(projects) == 0 {
		t.Fatal(err)
	}
	hook, err := s.store.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{TenantID: s.seed.TenantID,
		URL: "https://hooks.example.test/broker", Description: "CRM sync", Secret: "whsec-test-secret-0123456789",
		CreatedBy: "demo", EventTypes: []string{"connection.status_changed"}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.store.ListAPIKeys(ctx, s.seed.TenantID)
	if err != nil || len(keys) == 0 {
		t.Fatal(err)
	}
	body := `{"project":` + strconv.Quote(projects[0].Name) + `,"end_user":{"id":"u-1","email":"dana@customer.test"}}`
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/connect-sessions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.seed.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cs struct {
		ConnectURL string `json:"connect_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create a connect session: %d %v", resp.StatusCode, err)
	}
	return [][2]string{{"webhooks", "/webhooks"}, {"webhook", "/webhooks/" + hook.ID}, {"webhook-rotate", "/webhooks/" + hook.ID + "/rotate-secret"}, {"webhook-delete", "/webhooks/" + hook.ID + "/delete"},
		{"sso", "/settings/sso"},
		{"confirm-disable", "/connections/" + s.healthy + "/confirm/disable"},
		{"confirm-delete", "/connections/" + s.broken + "/confirm/delete"},
		{"revoke-key", "/api-keys/" + keys[0].ID + "/revoke"},
		{"callback-error", "/oauth/callback?error=access_denied&state=stale"},
		{"not-found", "/connections/00000000-0000-0000-0000-000000000000"},
		{"connect", strings.TrimPrefix(cs.ConnectURL, s.base)}}
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
