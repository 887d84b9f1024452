package mssim

import (
	"net/http"
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
