package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/testdb"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

var (
	reDemoCurl    = regexp.MustCompile(`curl -s -H 'Authorization: Bearer ([^']+)' `)
	reDemoHandoff = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)
	reSalesOption = regexp.MustCompile(`<option value="([^"]+)"[^>]*>Sales</option>`)
)

// runDemo starts `broker demo` with its in-process simulation on random
// ports and the given state file, waits for its banner and returns the demo
// API key and a stop function.
func runDemo(t *testing.T, env map[string]string) (apiKey string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--microsoft-addr", "127.0.0.1:0", "--microsoft-msa-addr", "127.0.0.1:0",
			"--microsoft-idp-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	}()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := reDemoCurl.FindStringSubmatch(out.String()); m != nil {
			apiKey = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s\n%s", err, out.String(), errb.String())
		default:
		}
	}
	if apiKey == "" {
		cancel()
		t.Fatalf("no demo banner:\n%s\n%s", out.String(), errb.String())
	}
	return apiKey, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("demo: %v", err)
		}
		if strings.Contains(errb.String(), "refresh_token") {
			t.Fatal("the demo's log mentions a refresh token")
		}
	}
}

// Restarting the demo twice breaks no connection: the simulation's state
// file keeps the refresh tokens it issued, so a forced refresh after each
// restart still returns a token.
func TestDemoRestartKeepsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	broker := "http://" + addr
	env := map[string]string{"BROKER_DATABASE_URL": testdb.New(t), "BROKER_LISTEN_ADDR": addr, "BROKER_PUBLIC_URL": broker,
		"BROKER_DEMO_MICROSOFT_STATE": filepath.Join(t.TempDir(), "demo-microsoft-state.json")}
	key, stop := runDemo(t, env)

	// Make two authorization-code connections in the browser's way: a work
	// account and a personal one (which crosses to the Microsoft account host).
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, broker+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return do(t, c, req)
	}
	get := func(u string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		return do(t, c, req)
	}
	if res, _ := post("/login", url.Values{"email": {"admin@demo.test"}, "password": {"demo-admin-password"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: HTTP %d", res.StatusCode)
	}
	_, page := get(broker + "/connections/new")
	m := reSalesOption.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no Sales project on the form:\n%s", page)
	}
	var ids []string
	for _, a := range []struct{ name, accountType, account string }{
		{"Adele", "common", "adele@" + mssim.DemoContosoDomain},
		{"Pat", "consumers", "pat@outlook.com"},
	} {
		form := url.Values{"name": {a.name}, "project": {m[1]}, "account_type": {a.accountType}, "auth_type": {"authorization_code"}, "scopes_shown": {"1"}}
		for _, sc := range connections.DefaultScopes() {
			form.Add("scope", sc)
		}
		_, body := post("/connections", form)
		h := reDemoHandoff.FindStringSubmatch(body)
		if h == nil {
			t.Fatalf("%s: no hand-off page:\n%s", a.name, body)
		}
		back, err := mssim.SignIn(context.Background(), nil, html.UnescapeString(h[1]), a.account, mssim.SignInOptions{})
		if err != nil {
			t.Fatalf("%s at Microsoft: %v", a.name, err)
		}
		res, _ := get(back.String())
		id, ok := strings.CutPrefix(res.Header.Get("Location"), "/connections/")
		if !ok {
			t.Fatalf("%s: callback went to %q", a.name, res.Header.Get("Location"))
		}
		ids = append(ids, id)
	}
	last := map[string]string{}
	for round := range 3 {
		// A forced refresh within 10 seconds of the last one is answered
		// from cache (tokens.Options.ForceCooldown): wait past it, so each
		// round's token really comes from the (restarted) simulation.
		time.Sleep(11 * time.Second)
		for _, id := range ids {
			req, _ := http.NewRequest(http.MethodGet, broker+"/api/v1/connections/"+id+"/token?force_refresh=true", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			res, body := do(t, http.DefaultClient, req)
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if res.StatusCode != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
				t.Fatalf("restart %d, connection %s: forced refresh HTTP %d: %s", round, id, res.StatusCode, body)
			}
			if tok.AccessToken == last[id] {
				t.Fatalf("restart %d, connection %s: the same access token again, not a refresh", round, id)
			}
			last[id] = tok.AccessToken
		}
		stop()
		if round < 2 {
			key, stop = runDemo(t, env)
		}
	}
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
