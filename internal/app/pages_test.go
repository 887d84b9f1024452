package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

// pagesSite is the demo broker with what a tenant that has been in use for a
// day holds: a healthy and a broken connection, token traffic over the last
// 24 hours, and a hundred audit events.
type pagesSite struct {
	base                string
	healthy, broken, cc string
	seed                app.DemoSeed
	store               *store.Store
}

func newPagesSite(t *testing.T) pagesSite {
	t.Helper()
	ctx := context.Background()
	sim := mssim.New(mssim.Options{})
	ms := httptest.NewServer(sim.Handler())
	t.Cleanup(ms.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// localhost, not 127.0.0.1: a secure context, where copy buttons work.
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cfg := testConfig(t, testdb.New(t))
	cfg.Demo, cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL, cfg.PublicURL = true, ms.URL, ms.URL, base
	cfg.MicrosoftClientID, cfg.MicrosoftClientSecret = mssim.DemoWebClientID, mssim.DemoWebClientSecret
	mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL()}})
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	seed, err := app.SeedDemo(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler}}
	hs.Start()
	t.Cleanup(hs.Close)
	st := a.Store
	projects, err := st.ListProjects(ctx, seed.TenantID)
	if err != nil || len(projects) == 0 {
		t.Fatal(err)
	}
	mk := func(name string, ev *store.StatusEvent) string {
		c, err := st.CreateConnection(ctx, store.NewConnection{TenantID: seed.TenantID, ProjectID: projects[0].ID,
			Name: name, AccountType: "organizations", AuthType: "authorization_code", Status: "active",
			RequestedScopes: mssim.OutlookScopes})
		if err != nil {
			t.Fatal(err)
		}
		rt, at := "rt", "at"
		exp := time.Now().Add(50 * time.Minute)
		if _, err := st.UpdateConnection(ctx, seed.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{RefreshToken: &rt, GrantedScopes: mssim.OutlookScopes, AccessTokenExpiresAt: &exp,
				AccessToken: &at, Refreshed: true,
				Account: &store.Account{TID: mssim.DemoContosoTenantID, Username: "adele@" + mssim.DemoContosoDomain, Name: "Adele Vance"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if ev != nil {
			if _, err := st.UpdateConnection(ctx, seed.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
				return store.ConnectionUpdate{Status: ev}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	s := pagesSite{base: base, seed: seed, store: st, cc: seed.ConnectionID}
	s.healthy = mk("Sales team inbox", nil)
	s.broken = mk("Support shared mailbox", &store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008",
		Reason:  "the refresh token has expired or was revoked. Microsoft said: AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
		TraceID: "0000aaaa-11bb-cc22-dd33-444444eeeeee", CorrelationID: "aaaa0000-bb11-22cc-33dd-eeeeee444444"})
	keys, err := st.ListAPIKeys(ctx, seed.TenantID)
	if err != nil || len(keys) == 0 {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var usage []store.TokenUsage
	for h := 0; h < 24; h++ {
		hour := now.Truncate(time.Hour).Add(-time.Duration(h) * time.Hour)
		usage = append(usage, store.TokenUsage{TenantID: seed.TenantID, Hour: hour, APIKeyID: keys[0].ID, ConnectionID: s.healthy,
			Cached: int64(20 + (h*37)%50), Refreshed: 1, FirstAt: hour, LastAt: hour.Add(min(50*time.Minute, now.Sub(hour)))})
	}
	usage = append(usage, store.TokenUsage{TenantID: seed.TenantID, Hour: now.Truncate(time.Hour).Add(-30 * time.Hour),
		APIKeyID: keys[0].ID, ConnectionID: s.cc, Cached: 0, Refreshed: 1, FirstAt: now.Add(-30 * time.Hour), LastAt: now.Add(-30 * time.Hour)})
	if err := st.AddTokenUsage(ctx, usage); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		ev := store.AuditEvent{TenantID: seed.TenantID, ActorType: "user", ActorID: "demo", ActorLabel: app.DemoAdminEmail,
			Action: "connection.tested", ConnectionID: s.healthy, Details: map[string]any{"result": "ok", "graph": "inbox read"}}
		if i%3 == 0 {
			ev.Action, ev.Reason, ev.ConnectionID = "connection.disabled", "Moving to a new mailbox", s.broken
			ev.Details = map[string]any{"previous_status": "active"}
		}
		if err := st.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// pageShot is one page at one width as a browser laid it out.
type pageShot struct {
	Height, ScrollWidth, ViewWidth int
	Overflowing                    []string // elements whose text spills out of their box
}

// overflowJS lists elements whose content is wider than their box and not
// meant to scroll: text overflowing its container.
const overflowJS = `(() => {
  const out = [];
  document.querySelectorAll('body *').forEach(el => {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || el.closest('svg')) return;
    if (['auto', 'scroll', 'hidden', 'clip'].includes(cs.overflowX)) return;
    // Inside a box that scrolls or clips (a wide table's wrapper, text
    // for screen readers only), spilling is that box's business.
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return;
    }
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && cs.display !== 'inline') {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''));
    }
  });
  return out.slice(0, 10);
})()`

func measure(b *browsertest.Browser) pageShot {
	return pageShot{
		Height:      browsertest.Eval[int](b, `document.documentElement.scrollHeight`),
		ScrollWidth: browsertest.Eval[int](b, `document.documentElement.scrollWidth`),
		ViewWidth:   browsertest.Eval[int](b, `window.innerWidth`),
		Overflowing: browsertest.Eval[[]string](b, overflowJS),
	}
}

// shotsDir is where the page screenshots go: $BROKER_SCREENSHOTS, else
// testoutput/screenshots in this package (ignored by git).
func shotsDir(t *testing.T) string {
	dir := os.Getenv("BROKER_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testoutput", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPages renders every page as the demo admin at a laptop's (1366×900)
// and a phone's (390×844) width, writes full-page screenshots and a table of
// heights, and holds the pages to their limits: a healthy connection's page
// fits in 1,200 px on a laptop, no page scrolls sideways on a phone, no
// text spills out of its box, and axe-core finds no serious or critical
// accessibility violation.
func TestPages(t *testing.T) {
	s := newPagesSite(t)
	dir := shotsDir(t)
	axeJS := loadAxe(t)
	pages := [][2]string{{"login", "/login"}, {"home", "/"}, {"list", "/connections"}, {"list-broken", "/connections?status=broken"},
		{"connection-active", "/connections/" + s.healthy}, {"connection-broken", "/connections/" + s.broken},
		{"connection-cc", "/connections/" + s.cc}, {"new-connection", "/connections/new"}, {"audit", "/audit"},
		{"api-keys", "/api-keys"}, {"connect-settings", "/settings/connect"}, {"apps", "/settings/apps"}}
	pages = append(pages, morePages(t, s)...)
	var report strings.Builder
	heights := map[string]int{}
	for _, width := range []int{1366, 390} {
		height := map[int]int{1366: 900, 390: 844}[width]
		b := browsertest.New(t, browsertest.Options{Width: width, Height: height, Timeout: 5 * time.Minute})
		for i, p := range pages {
			if i == 1 {
				b.SignIn(s.base, app.DemoAdminEmail, app.DemoAdminPassword)
			}
			b.Do("open "+p[1], chromedp.Navigate(s.base+p[1]), chromedp.WaitReady(chromedp.CSS("body")))
			m := measure(b)
			name := p[0] + "-" + strconv.Itoa(width)
			heights[name] = m.Height
			fmt.Fprintf(&report, "%-24s %6d px\n", name, m.Height)
			b.SaveScreenshot(filepath.Join(dir, name+".png"))
			if m.ScrollWidth > m.ViewWidth {
				t.Errorf("%s at %d px scrolls sideways: %d px wide", p[1], width, m.ScrollWidth)
			}
			if len(m.Overflowing) > 0 {
				t.Errorf("%s at %d px: text overflows its box in %v", p[1], width, m.Overflowing)
			}
			axe := runAxe(t, b, axeJS)
			for _, v := range axe {
				t.Logf("axe %s at %d px: %s %s (%d elements)", p[1], width, v.Impact, v.ID, len(v.Targets))
			}
			if bad := seriousAxe(axe); len(bad) > 0 {
				t.Errorf("%s at %d px: axe-core finds %d serious or critical violations:\n  %s",
					p[1], width, len(bad), strings.Join(bad, "\n  "))
			}
		}
	}
	os.WriteFile(filepath.Join(dir, "heights.txt"), []byte(report.String()), 0o644)
	t.Logf("page heights:\n%s", report.String())
	// Limits: a healthy connection reads in one laptop screen and a bit;
	// the audit log's 100 events plus a day of hourly token rows stay
	// compact rows (they took 6,700 and 26,500 px before).
	for name, limit := range map[string]int{"connection-active-1366": 1200, "audit-1366": 5500, "audit-390": 12000} {
		if h := heights[name]; h >= limit {
			t.Errorf("%s is %d px tall, want under %d", name, h, limit)
		}
	}
}

// recordCopies makes the page's clipboard note what it is given, so a test
// can see what a Copy button copied (a headless browser's clipboard is not
// the test's to read).
const recordCopies = `(() => { window.copied = [];
  navigator.clipboard.writeText = t => { window.copied.push(t); return Promise.resolve(); }; return true; })()`

// TestCopyButtons: with JavaScript, the Copy buttons next to a connection's
// ID, its token snippet and a new API key appear and copy exactly the value
// beside them; the values are selectable text whether or not it runs (the
// buttons are hidden in the HTML, for browsers without it).
func TestCopyButtons(t *testing.T) {
	s := newPagesSite(t)
	b := browsertest.New(t, browsertest.Options{Width: 1366, Height: 900, Timeout: 3 * time.Minute})
	b.SignIn(s.base, app.DemoAdminEmail, app.DemoAdminPassword)
	b.Do("open a connection", chromedp.Navigate(s.base+"/connections/"+s.healthy),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="connection-id"]`)))
	if got := browsertest.Eval[string](b, `getComputedStyle(document.getElementById('connection-id')).userSelect`); got != "all" {
		t.Errorf("the connection ID is not selectable with one click: user-select %q", got)
	}
	browsertest.Eval[bool](b, recordCopies)
	b.Do("copy the ID", chromedp.Click(chromedp.CSS(`button[data-copy="connection-id"]`)))
	b.Do("copy the snippet", chromedp.Click(chromedp.CSS(`button[data-copy="snippet"]`)))
	copied := browsertest.Eval[[]string](b, `window.copied`)
	wantSnippet := `curl -H "Authorization: Bearer $BROKER_API_KEY" ` + s.base + "/api/v1/connections/" + s.healthy + "/token"
	if len(copied) != 2 || copied[0] != s.healthy || copied[1] != wantSnippet {
		t.Fatalf("copied %q, want the ID %s and %q", copied, s.healthy, wantSnippet)
	}
	if got := b.Text(`button[data-copy="connection-id"]`); got != "Copied" {
		t.Errorf("the button says %q after copying", got)
	}
	if got := b.Text("#copy-status"); got != "Copied to the clipboard." {
		t.Errorf("screen readers hear %q", got)
	}

	b.Do("create an API key", chromedp.Navigate(s.base+"/api-keys"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "crm-sync"), chromedp.Click(chromedp.CSS("#create-key")),
		chromedp.WaitVisible(chromedp.CSS("#copy-key")))
	key := strings.TrimSpace(b.Text("#key"))
	if !strings.HasPrefix(key, "brk_") {
		t.Fatalf("key shown %q", key)
	}
	browsertest.Eval[bool](b, recordCopies)
	b.Do("copy the key", chromedp.Click(chromedp.CSS("#copy-key")))
	if copied := browsertest.Eval[[]string](b, `window.copied`); len(copied) != 1 || copied[0] != key {
		t.Fatalf("copied %q, want the key", copied)
	}

	t.Run("callback pages leave no code in the address bar", func(t *testing.T) {
		b.Do("open a stale callback", chromedp.Navigate(s.base+"/oauth/callback?code=M.C1_secret-looking-code&state=stale"),
			chromedp.WaitReady(chromedp.CSS("main")))
		if got := browsertest.Eval[string](b, `document.title`); !strings.Contains(got, "Broker") {
			t.Fatalf("not the broker's page: %q", got)
		}
		var search string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if search = browsertest.Eval[string](b, `location.search`); search == "" {
				break
			}
		}
		if search != "" {
			t.Fatalf("the address bar still holds %q", search)
		}
	})
}
