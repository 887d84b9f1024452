package app_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/testdb"
)

// ssoEnv is a broker with its demo seed and the simulation, on one fake
// clock, served on localhost (the sim on 127.0.0.1: separate cookies, as
// separate sites have).
type ssoEnv struct {
	a     *app.App
	sim   *mssim.Sim
	demo  mssim.Demo
	seed  app.DemoSeed
	base  string
	clock *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ssoGroup is a Contoso group the rules tests map to admin.
const ssoGroup = "9a8b7c6d-0000-4000-8000-00000000a11a"

func newSSOEnv(t *testing.T, breakGlass ...string) *ssoEnv {
	t.Helper()
	ctx := context.Background()
	clock := &fakeClock{t: time.Now()}
	sim := mssim.New(mssim.Options{Now: clock.Now})
	ms := httptest.NewServer(sim.Handler())
	t.Cleanup(ms.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cfg := testConfig(t, testdb.New(t))
	cfg.Demo, cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL, cfg.PublicURL = true, ms.URL, ms.URL, base
	cfg.MicrosoftClientID, cfg.MicrosoftClientSecret = mssim.DemoWebClientID, mssim.DemoWebClientSecret
	cfg.SSOBreakGlass = breakGlass
	demo := mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL(), cfg.SSORedirectURL()}})
	a, err := app.New(ctx, app.Options{Config: cfg, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	return &ssoEnv{a: a, sim: sim, demo: demo, seed: seed, base: base, clock: clock}
}

// client is a browser stand-in: a cookie jar, redirects not followed.
func (e *ssoEnv) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *ssoEnv) do(t *testing.T, c *http.Client, method, path string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	target := path
	if strings.HasPrefix(path, "/") {
		target = e.base + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *ssoEnv) passwordSignIn(t *testing.T, c *http.Client, email string) *http.Response {
	t.Helper()
	return e.do(t, c, "POST", "/login", url.Values{"email": {email}, "password": {app.DemoAdminPassword}})
}

// viaMicrosoft follows a 303 to Microsoft, signs account in on the sim's
// pages and brings the browser back to the broker's callback.
func (e *ssoEnv) viaMicrosoft(t *testing.T, c *http.Client, start *http.Response, account string) *http.Response {
	t.Helper()
	return e.viaMicrosoftURL(t, c, handoffURL(t, start), account)
}

// viaMicrosoftURL signs account in at loc, Microsoft's authorize URL.
func (e *ssoEnv) viaMicrosoftURL(t *testing.T, c *http.Client, loc, account string) *http.Response {
	t.Helper()
	back, err := mssim.SignIn(context.Background(), c, loc, account, mssim.SignInOptions{})
	if err != nil {
		t.Fatalf("at Microsoft: %v", err)
	}
	return e.do(t, c, "GET", back.String(), nil)
}

// ssoSignIn presses "Sign in with Microsoft" on /login as account.
func (e *ssoEnv) ssoSignIn(t *testing.T, c *http.Client, account string) *http.Response {
	t.Helper()
	return e.viaMicrosoft(t, c, e.do(t, c, "POST", "/login/microsoft", url.Values{"next": {"/connections"}}), account)
}

// linkContoso has the demo admin link Contoso, proved by Contoso's admin.
func (e *ssoEnv) linkContoso(t *testing.T) *http.Client {
	t.Helper()
	c := e.client(t)
	if r := e.passwordSignIn(t, c, app.DemoAdminEmail); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", r.StatusCode)
	}
	r := e.viaMicrosoft(t, c, e.do(t, c, "POST", "/settings/sso/link", url.Values{}), e.demo.ContosoAdmin.UPN)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings/sso" {
		body, _ := io.ReadAll(r.Body)
		t.Fatalf("link: %d %s %s", r.StatusCode, r.Header.Get("Location"), body)
	}
	return c
}

var reContinue = regexp.MustCompile(`id="continue" href="([^"]+)"`)

// handoffURL is where the broker's hand-off page sends the browser: a page
// (not a redirect), so CSP form-action does not block Microsoft's hosts.
func handoffURL(t *testing.T, r *http.Response) string {
	t.Helper()
	body := bodyOf(t, r)
	m := reContinue.FindStringSubmatch(body)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(m[1], "/oauth2/v2.0/authorize") {
		t.Fatalf("start: %d, want the hand-off page to Microsoft: %s", r.StatusCode, body)
	}
	return html.UnescapeString(m[1])
}

func bodyOf(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
