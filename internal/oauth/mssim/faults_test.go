package mssim

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	e := newTestEnv(t)
	d := e.demo
	adele := e.redeem("common", d.Adele.UPN, nil)
	alex := e.redeem("common", d.Alex.UPN, nil)
	tests := []struct {
		name       string
		fault      Fault
		rt         string // refresh token to use
		status     int
		errCode    string
		aad        int
		retryAfter string
		times      int // requests that fail before the fault wears off
	}{
		{name: "next 2 refreshes throttled", fault: Fault{Endpoint: EndpointToken, Grant: "refresh_token", Times: 2, Status: 429, RetryAfter: 7 * time.Second},
			rt: adele.RefreshToken, status: 429, errCode: "temporarily_unavailable", aad: 90055, retryAfter: "7", times: 2},
		{name: "429 default Retry-After", fault: Fault{Endpoint: EndpointToken, Times: 1, Status: 429},
			rt: adele.RefreshToken, status: 429, errCode: "temporarily_unavailable", aad: 90055, retryAfter: "1", times: 1},
		{name: "temporarily_unavailable", fault: Fault{Endpoint: EndpointToken, Times: 1, Error: "temporarily_unavailable"},
			rt: adele.RefreshToken, status: 503, errCode: "temporarily_unavailable", aad: 90006, times: 1},
		{name: "500", fault: Fault{Endpoint: EndpointToken, Times: 1, Status: 500},
			rt: adele.RefreshToken, status: 500, errCode: "server_error", aad: 50000, times: 1},
		{name: "only Alex's refreshes", fault: Fault{User: d.Alex.UPN, Times: 1, Status: 503},
			rt: alex.RefreshToken, status: 503, errCode: "temporarily_unavailable", aad: 90006, times: 1},
		{name: "only this client", fault: Fault{ClientID: d.WebApp.ClientID, Times: 1, Error: "invalid_grant", Code: 50173},
			rt: adele.RefreshToken, status: 400, errCode: "invalid_grant", aad: 50173, times: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.ClearFaults()
			e.sim.InjectFault(tt.fault)
			for i := range tt.times {
				r := e.refresh("common", tt.rt)
				wantTokenError(t, r, tt.status, tt.errCode, tt.aad)
				if r.header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("request %d: Retry-After %q, want %q", i, r.header.Get("Retry-After"), tt.retryAfter)
				}
			}
			if r := e.refresh("common", tt.rt); r.status != 200 {
				t.Fatalf("fault did not wear off: %s", r.raw)
			}
		})
	}

	t.Run("other users unaffected", func(t *testing.T) {
		e.sim.ClearFaults()
		e.sim.InjectFault(Fault{User: d.Alex.ObjectID, Status: 503})
		if r := e.refresh("common", adele.RefreshToken); r.status != 200 {
			t.Fatalf("Adele failed: %s", r.raw)
		}
		if r := e.refresh("common", alex.RefreshToken); r.status != 503 {
			t.Fatalf("Alex: %d", r.status)
		}
	})
	t.Run("latency", func(t *testing.T) {
		e.sim.ClearFaults()
		e.sim.InjectFault(Fault{Endpoint: EndpointToken, Latency: 150 * time.Millisecond, Times: 1})
		start := time.Now()
		if r := e.refresh("common", adele.RefreshToken); r.status != 200 {
			t.Fatal(r.raw)
		}
		if time.Since(start) < 150*time.Millisecond {
			t.Fatal("no latency")
		}
	})
	t.Run("proxy error page", func(t *testing.T) {
		e.sim.ClearFaults()
		e.sim.InjectFault(Fault{Endpoint: EndpointToken, Times: 1, Status: 502, Body: "<html>Bad Gateway</html>"})
		resp, err := http.Post(e.srv.URL+"/common/oauth2/v2.0/token", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("Graph throttled", func(t *testing.T) {
		e.sim.ClearFaults()
		e.sim.InjectFault(Fault{Endpoint: EndpointGraph, Grant: "me", Times: 1, Status: 429, RetryAfter: 3 * time.Second})
		status, _, ge := e.graphGet("/v1.0/me", adele.AccessToken)
		if status != 429 || ge.Error.Code != "TooManyRequests" {
			t.Fatalf("%d %+v", status, ge)
		}
		if status, _, _ := e.graphGet("/v1.0/me", adele.AccessToken); status != 200 {
			t.Fatalf("after: %d", status)
		}
	})
	t.Run("authorize redirects the fault", func(t *testing.T) {
		e.sim.ClearFaults()
		e.sim.InjectFault(Fault{Endpoint: EndpointAuthorize, Times: 1, Error: "server_error"})
		loc, err := SignIn(context.Background(), nil, e.authURL("common", nil), d.Adele.UPN, SignInOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if errCode, aad := redirectCode(loc.Query()); errCode != "server_error" || aad != "50000" || loc.Query().Get("state") != "st-123" {
			t.Fatalf("%v", loc.Query())
		}
	})
	t.Run("clear one", func(t *testing.T) {
		e.sim.ClearFaults()
		id := e.sim.InjectFault(Fault{Endpoint: EndpointToken, Status: 500})
		if len(e.sim.Faults()) != 1 {
			t.Fatal("fault not listed")
		}
		e.sim.ClearFault(id)
		if r := e.refresh("common", adele.RefreshToken); r.status != 200 {
			t.Fatal(r.raw)
		}
	})
}
