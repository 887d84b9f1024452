package api

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

func TestTokenAnswer(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{})
	key, keyRow := e.key(t, e.tenant.ID)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	var tok tokenResponse
	resp, body := get(t, s, key, "/api/v1/connections/"+c.ID+"/token", &tok)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d %v", resp.StatusCode, resp.Header)
	}
	expires, err := time.Parse(time.RFC3339, tok.ExpiresAt)
	if err != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn < 3000 ||
		expires.Sub(e.ms.Sim.Now()) < 50*time.Minute || !strings.Contains(tok.Scope, "Mail.ReadWrite") {
		t.Fatalf("token %+v (%v)", tok, err)
	}
	want := connectionRef{ID: c.ID, Name: "mailbox", Project: "Sales", AccountType: "common", AuthType: "authorization_code",
		Status: "active", Account: account{User: e.ms.Demo.Adele.UPN}, Metadata: map[string]string{}}
	if !reflect.DeepEqual(tok.Connection, want) {
		t.Fatalf("connection %+v, want %+v", tok.Connection, want)
	}
	_, cr, _ := e.st.ConnectionWithCredentials(context.Background(), e.tenant.ID, c.ID)
	if strings.Contains(string(body), "refresh_token") || strings.Contains(string(body), cr.RefreshToken) {
		t.Fatal("the answer carries a refresh token")
	}
	// Warm: the same token; min_ttl and force_refresh are honoured.
	var again tokenResponse
	get(t, s, key, "/api/v1/connections/"+c.ID+"/token?min_ttl=60", &again)
	if again.AccessToken != tok.AccessToken {
		t.Fatal("warm fetch gave another token")
	}
	e.ms.Sim.Advance(time.Minute) // past the forced-refresh cooldown
	var forced tokenResponse
	get(t, s, key, "/api/v1/connections/"+c.ID+"/token?force_refresh=true", &forced)
	if forced.AccessToken == tok.AccessToken || e.ms.Sim.Count(mssim.EndpointToken, "refresh_token") != 2 {
		t.Fatal("force_refresh did not refresh")
	}
	// Each token handed out is recorded against the key, without the token.
	if err := s.usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := e.st.ListTokenUsage(context.Background(), e.tenant.ID, store.TokenUsageFilter{APIKeyID: keyRow.ID})
	if err != nil || len(rows) != 1 || rows[0].ConnectionID != c.ID || rows[0].Cached != 1 || rows[0].Refreshed != 2 {
		t.Fatalf("usage %+v %v", rows, err)
	}
}

func TestKeysAndScopes(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{})
	all, _ := e.key(t, e.tenant.ID)
	supportOnly, _ := e.key(t, e.tenant.ID, e.support.ID)
	otherTenant, _ := e.key(t, e.other.ID)
	revoked, revokedRow := e.key(t, e.tenant.ID)
	c := e.conn(t, tokenstest.Conn{})
	path := "/api/v1/connections/" + c.ID + "/token"

	if resp, _ := get(t, s, revoked, path, nil); resp.StatusCode != 200 {
		t.Fatalf("key before revocation: %d", resp.StatusCode)
	}
	if err := e.st.RevokeAPIKey(context.Background(), e.tenant.ID, revokedRow.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.keys.Drop(revokedRow.ID) // as the admin page does on its replica
	forged := all[:len(all)-4] + "AAAA"
	for name, k := range map[string]string{"no key": "", "garbage": "hello", "forged secret": forged, "revoked": revoked} {
		p := wantProblem(t, s, k, path, "unauthorized")
		if p.Detail == "" || k != "" && strings.Contains(p.Detail, k) {
			t.Fatalf("%s: %+v", name, p)
		}
	}
	resp, _ := get(t, s, "", path, nil)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	// Existence never leaks: another tenant's, another project's, a missing
	// and a malformed ID all answer the same 404.
	for name, k := range map[string]string{"other tenant": otherTenant, "out-of-scope project": supportOnly} {
		for _, p := range []string{path, "/api/v1/connections/" + c.ID} {
			if got := wantProblem(t, s, k, p, "connection_not_found"); got.Detail != "No such connection." {
				t.Fatalf("%s %s: %+v", name, p, got)
			}
		}
	}
	wantProblem(t, s, all, "/api/v1/connections/00000000-0000-4000-8000-000000000000/token", "connection_not_found")
	wantProblem(t, s, all, "/api/v1/connections/not-a-uuid/token", "connection_not_found")
	if resp, _ := get(t, s, all, path, nil); resp.StatusCode != 200 {
		t.Fatalf("tenant-wide key: %d", resp.StatusCode)
	}
}

func TestProblemCodesOverHTTP(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{})
	key, _ := e.key(t, e.tenant.ID)
	ctx := context.Background()
	revokedUser := e.conn(t, tokenstest.Conn{Name: "revoked", UPN: e.ms.Demo.Alex.UPN, Expired: true})
	e.ms.Sim.RevokeUser(e.ms.Demo.Alex.UPN)
	badSecret := e.conn(t, tokenstest.Conn{Name: "bad-secret", ClientSecret: "wrong"})
	expiredSecret := e.conn(t, tokenstest.Conn{Name: "expired-secret", ClientSecret: e.ms.Demo.DaemonApp.ExpiredSecret})
	consent := e.conn(t, tokenstest.Conn{Name: "consent", UPN: e.ms.Demo.FabrikamAdmin.UPN, AccountType: "organizations", Expired: true})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, User: e.ms.Demo.FabrikamAdmin.UPN, Error: "invalid_grant", Code: 65001})
	for _, tc := range []struct {
		conn   store.Connection
		code   string
		aadsts string
	}{
		{revokedUser, "reauthorization_required", "AADSTS50173"},
		{badSecret, "configuration_error", "AADSTS7000215"},
		{expiredSecret, "configuration_error", "AADSTS7000222"},
		{consent, "consent_required", "AADSTS65001"},
		{e.conn(t, tokenstest.Conn{Name: "disabled", Status: "disabled"}), "connection_disabled", ""},
		{e.conn(t, tokenstest.Conn{Name: "approval", Status: "awaiting_approval"}), "connection_not_approved", ""},
		{e.conn(t, tokenstest.Conn{Name: "pending", Status: "pending"}), "connection_pending", ""},
	} {
		p := wantProblem(t, s, key, "/api/v1/connections/"+tc.conn.ID+"/token", tc.code)
		if p.AADSTS != tc.aadsts || (tc.aadsts != "") != (p.TraceID != "") || p.Detail == "" || p.ConnectionStatus == "" {
			t.Fatalf("%s: %+v", tc.code, p)
		}
	}

	throttled := e.conn(t, tokenstest.Conn{Name: "throttled", UPN: e.ms.Demo.ContosoAdmin.UPN, Expired: true})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, User: e.ms.Demo.ContosoAdmin.UPN, Status: 429, RetryAfter: 30 * time.Second})
	var p problem.Problem
	resp, _ := get(t, s, key, "/api/v1/connections/"+throttled.ID+"/token", &p)
	if resp.StatusCode != 503 || p.Code != "upstream_unavailable" || resp.Header.Get("Retry-After") < "30" || p.RetryAfter < 30 ||
		p.AADSTS != "AADSTS90055" {
		t.Fatalf("throttled: HTTP %d Retry-After %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), p)
	}

	ok := e.conn(t, tokenstest.Conn{Name: "fine"})
	for _, q := range []string{"min_ttl=abc", "min_ttl=-1", "min_ttl=3001", "force_refresh=maybe", "min_ttl=%zz",
		"min_ttl=9300000000", "min_ttl=9223372037", "min_ttl=18446744073709551616", "min_ttl=-9300000000"} {
		p := wantProblem(t, s, key, "/api/v1/connections/"+ok.ID+"/token?"+q, "invalid_request")
		if strings.HasPrefix(q, "min_ttl=") && q != "min_ttl=%zz" && p.Detail != "min_ttl must be a whole number of seconds from 0 to 3000." {
			t.Fatalf("%s: detail %q", q, p.Detail)
		}
	}
	wantProblem(t, s, key, "/api/v1/nothing-here", "not_found")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v1/connections/"+ok.ID+"/token", nil)
	if resp, err := s.Client().Do(req); err != nil || resp.StatusCode != 405 {
		t.Fatalf("POST: %v %v", resp, err)
	}
}

func TestRateLimitedKey(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{Rate: 1, Burst: 2}) // the sim's clock stands still: no slot frees up
	key, _ := e.key(t, e.tenant.ID)
	c := e.conn(t, tokenstest.Conn{})
	path := "/api/v1/connections/" + c.ID + "/token"
	for range 2 {
		if resp, _ := get(t, s, key, path, nil); resp.StatusCode != 200 {
			t.Fatalf("within the burst: %d", resp.StatusCode)
		}
	}
	var p problem.Problem
	resp, _ := get(t, s, key, path, &p)
	if resp.StatusCode != 429 || p.Code != "rate_limited" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("HTTP %d %+v Retry-After %q", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
}

// Three broker servers on one database, 500 callers over HTTP on an expired
// connection: one refresh reaches Microsoft and everyone gets its token.
func TestThreeServersOneRefresh(t *testing.T) {
	e := newEnv(t)
	servers := []*server{e.server(t, apikeys.Options{}), e.server(t, apikeys.Options{}), e.server(t, apikeys.Options{})}
	key, _ := e.key(t, e.tenant.ID)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Latency: 50 * time.Millisecond})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}}
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]string, 500)
	for i := range got {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodGet, servers[i%3].URL+"/api/v1/connections/"+c.ID+"/token", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var tok tokenResponse
			if resp.StatusCode != 200 || decode(resp, &tok) != nil {
				t.Errorf("caller %d: HTTP %d", i, resp.StatusCode)
			}
			got[i] = tok.AccessToken
		})
	}
	close(start)
	wg.Wait()
	for i := range got {
		if got[i] == "" || got[i] != got[0] {
			t.Fatalf("caller %d got another token", i)
		}
	}
	if n := e.ms.Sim.Count(mssim.EndpointToken, "refresh_token"); n != 1 {
		t.Fatalf("%d refreshes reached Microsoft, want 1", n)
	}
}

// min_ttl is bounded as a number of seconds, before it becomes a Duration
// that could wrap around.
func TestTokenQueryBounds(t *testing.T) {
	for q, want := range map[string]time.Duration{"": defaultMinTTL, "min_ttl=0": 0, "min_ttl=3000": maxMinTTL,
		"min_ttl=0060": time.Minute} {
		if got, _, msg := tokenQuery(q); msg != "" || got != want {
			t.Errorf("%q: %v %q, want %v", q, got, msg, want)
		}
	}
	for _, q := range []string{"min_ttl=9300000000", "min_ttl=9223372037", "min_ttl=3001", "min_ttl=1e3", "min_ttl=0x10",
		"min_ttl=99999999999999999999"} {
		if got, _, msg := tokenQuery(q); msg == "" {
			t.Errorf("%q accepted as %v", q, got)
		}
	}
}
