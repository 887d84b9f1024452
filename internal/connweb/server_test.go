package connweb_test

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
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/connweb"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/web"
)

// server is the whole broker router with the connection pages mounted,
// on a real listener, next to the simulated Microsoft.
type server struct {
	*conntest.Env
	URL  string
	logs *conntest.SyncBuffer
}

func newServer(t *testing.T) *server {
	t.Helper()
	t.Parallel()
	return newServerAt(t, "127.0.0.1")
}

// newServerAt serves the broker as http://host:port. Browser tests use
// "localhost", so the sim at 127.0.0.1 is another site and the session
// cookie's SameSite=Lax is really exercised on the way back.
func newServerAt(t *testing.T, host string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &server{URL: "http://" + host + ":" + port, logs: &conntest.SyncBuffer{}}
	s.Env = conntest.New(t, s.URL+"/oauth/callback")
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := connweb.New(connweb.Options{Store: s.Store, Provider: s.MS, Graph: s.MS, RedirectURL: s.Redirect,
		Logger: logger, Now: s.Clock.Now})
	router, err := web.New(web.Deps{Store: s.Store, Logger: logger, PublicURL: s.URL, SessionKeys: conntest.SessionKeys,
		Now: s.Clock.Now, Passwords: auth.CheapParams,
		Mount: []func(chi.Router, *web.UI){h.Mount}})
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: router}}
	hs.Start()
	t.Cleanup(hs.Close)
	return s
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t *testing.T
	s *server
	c *http.Client
}

func (s *server) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res, string(body)}
}

func (b *browser) get(target string) response {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.s.URL + target
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) signIn(email string) *browser {
	b.t.Helper()
	res := b.post("/login", url.Values{"email": {email}, "password": {conntest.Password}})
	wantStatus(b.t, res, http.StatusSeeOther)
	return b
}

// microsoft plays the person on the sim's pages, starting from the
// broker's hand-off page, and returns the callback path and query to visit.
func (b *browser) microsoft(res response, account string, opts mssim.SignInOptions) string {
	b.t.Helper()
	back, err := mssim.SignIn(context.Background(), &http.Client{}, handoff(b.t, res), account, opts)
	if err != nil {
		b.t.Fatalf("at Microsoft as %s: %v", account, err)
	}
	if !strings.HasPrefix(back.String(), b.s.Redirect) {
		b.t.Fatalf("Microsoft sent the browser to %s", back)
	}
	return back.String()
}

var reHandoff = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

// handoff checks that res is the page that moves the browser on to
// Microsoft (a 200, never a redirect: see connweb/handoff.go) and returns
// where it goes; the page's link must go to the same place.
func handoff(t *testing.T, res response) string {
	t.Helper()
	wantStatus(t, res, http.StatusOK)
	m := reHandoff.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("%s %s: not the hand-off page:\n%s", res.Request.Method, res.Request.URL.Path, res.body)
	}
	to := html.UnescapeString(m[1])
	wantBody(t, res, `id="continue" href="`+m[1]+`"`)
	return to
}

func wantStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, res.body)
	}
}

func wantBody(t *testing.T, res response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(res.body, p) {
			t.Errorf("%s %s: body lacks %q", res.Request.Method, res.Request.URL.Path, p)
		}
	}
	if t.Failed() {
		t.Fatalf("body:\n%s", res.body)
	}
}

func wantNotInBody(t *testing.T, res response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if p != "" && strings.Contains(res.body, p) {
			t.Fatalf("%s %s: body shows %q", res.Request.Method, res.Request.URL.Path, p)
		}
	}
}
