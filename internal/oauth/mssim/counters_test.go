package mssim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Many goroutines refresh, fail and call Graph at once; every counter must
// come out exact (run with -race).
func TestCountersExactUnderConcurrency(t *testing.T) {
	e := newTestEnv(t)
	tok := e.redeem("common", e.demo.Adele.UPN, nil)
	e.sim.ResetCounts()
	const workers, each = 16, 25
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	post := func(form url.Values) {
		resp, err := client.Post(e.srv.URL+"/common/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				switch (w + i) % 3 {
				case 0:
					post(e.webForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
				case 1:
					post(e.webForm("grant_type", "refresh_token", "refresh_token", "bogus"))
				default:
					req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1.0/me", nil)
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
					if resp, err := client.Do(req); err == nil {
						resp.Body.Close()
					}
				}
			}
		}()
	}
	wg.Wait()
	var refresh, graph int64
	for w := range workers {
		for i := range each {
			if (w+i)%3 == 2 {
				graph++
			} else {
				refresh++
			}
		}
	}
	want := map[string]int64{"token": refresh, "token/refresh_token": refresh, "graph": graph, "graph/me": graph}
	got := e.sim.Counts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("snapshot %v, want exactly %v", got, want)
	}
	if e.sim.Count(EndpointToken, "refresh_token") != refresh || e.sim.Count(EndpointGraph, "") != graph {
		t.Error("Count disagrees with Counts")
	}
	e.sim.ResetCounts()
	if got := e.sim.Counts(); len(got) != 0 {
		t.Errorf("after reset: %v", got)
	}
}

// Every endpoint and grant has its own counter.
func TestCountersByEndpointAndGrant(t *testing.T) {
	e := newTestEnv(t)
	e.redeem("common", e.demo.Adele.UPN, nil) // authorize, login, consent, token/authorization_code
	e.postToken(DemoContosoTenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
		"client_secret": {DemoDaemonClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	e.postToken("common", e.webForm("grant_type", "urn:ietf:params:oauth:grant-type:device_code"))
	tests := []struct {
		endpoint, grant string
		want            int64
	}{
		{EndpointAuthorize, "", 1},
		{EndpointLogin, "", 1},
		{EndpointConsent, "", 1},
		{EndpointToken, "", 3},
		{EndpointToken, "authorization_code", 1},
		{EndpointToken, "client_credentials", 1},
		{EndpointToken, "other", 1},
		{EndpointToken, "refresh_token", 0},
		{EndpointGraph, "", 0},
		{"nonsense", "", 0},
	}
	for _, tt := range tests {
		if got := e.sim.Count(tt.endpoint, tt.grant); got != tt.want {
			t.Errorf("Count(%q, %q) = %d, want %d", tt.endpoint, tt.grant, got, tt.want)
		}
	}
}

// TestCountsByClient: token requests are counted per client_id as sent, so
// two apps' requests stay apart; a removed secret is refused like a wrong one.
func TestCountsByClient(t *testing.T) {
	s := New(Options{})
	d := SeedDemo(s, DemoConfig{RedirectURIs: []string{"https://broker.test/oauth/callback"}})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(clientID, secret string) int {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
			"scope": {"https://graph.microsoft.com/.default"}}
		resp, err := http.PostForm(srv.URL+"/"+d.Contoso.ID+"/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(d.DaemonApp.ClientID, d.DaemonApp.Secret); got != 200 {
		t.Fatalf("daemon app: HTTP %d", got)
	}
	post(d.WebApp.ClientID, d.WebApp.Secret)
	post(d.WebApp.ClientID, d.WebApp.Secret)
	if n := s.CountFor(strings.ToUpper(d.DaemonApp.ClientID), EndpointToken, "client_credentials"); n != 1 {
		t.Errorf("daemon app counted %d client_credentials requests, want 1", n)
	}
	if n := s.CountFor(d.WebApp.ClientID, EndpointToken, ""); n != 2 {
		t.Errorf("web app counted %d token requests, want 2", n)
	}
	if n := s.Count(EndpointToken, "client_credentials"); n != 3 {
		t.Errorf("all apps: %d, want 3", n)
	}
	if err := s.RemoveSecret(d.DaemonApp.ClientID, d.DaemonApp.Secret); err != nil {
		t.Fatal(err)
	}
	if got := post(d.DaemonApp.ClientID, d.DaemonApp.Secret); got != 401 {
		t.Errorf("removed secret: HTTP %d, want 401 (AADSTS7000215)", got)
	}
	if err := s.RemoveSecret(d.DaemonApp.ClientID, d.DaemonApp.Secret); err == nil {
		t.Error("removing a secret twice worked")
	}
	s.ResetCounts()
	if n := s.CountFor(d.WebApp.ClientID, EndpointToken, ""); n != 0 {
		t.Errorf("after reset: %d", n)
	}
}
