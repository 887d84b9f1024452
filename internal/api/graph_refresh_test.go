package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/problem"
)

// Graph rejecting the token (revoked) costs exactly one refresh at
// Microsoft and one retry; the caller sees only the answer.
func TestGraphProxy401RefreshesOnce(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	if resp, body := g.do(t, "GET", "/v1.0/me/messages", "", nil); resp.StatusCode != 200 {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, body)
	}
	g.ms.Sim.Advance(11 * time.Second) // past the token service's forced-refresh cooldown
	if n := g.ms.Sim.RevokeAccessTokens(g.ms.Demo.Adele.UPN); n == 0 {
		t.Fatal("no access token to revoke")
	}
	refreshes, calls := g.ms.Sim.Count(mssim.EndpointToken, "refresh_token"), g.graphCalls()
	resp, body := g.do(t, "GET", "/v1.0/me/messages", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("after revocation: %d %s", resp.StatusCode, body)
	}
	if n := g.ms.Sim.Count(mssim.EndpointToken, "refresh_token") - refreshes; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if n := g.graphCalls() - calls; n != 2 {
		t.Errorf("%d Graph calls, want 2 (the 401 and the retry)", n)
	}

	// Graph keeps refusing: still one refresh, and its 401 comes back.
	g.ms.Sim.Advance(11 * time.Second)
	id := g.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "messages", Status: 401, Error: "InvalidAuthenticationToken"})
	refreshes, calls = g.ms.Sim.Count(mssim.EndpointToken, "refresh_token"), g.graphCalls()
	resp, body = g.do(t, "GET", "/v1.0/me/messages", "", nil)
	if resp.StatusCode != 401 || !strings.Contains(string(body), "InvalidAuthenticationToken") {
		t.Fatalf("persistent 401: %d %s", resp.StatusCode, body)
	}
	if r, c := g.ms.Sim.Count(mssim.EndpointToken, "refresh_token")-refreshes, g.graphCalls()-calls; r != 1 || c != 2 {
		t.Errorf("persistent 401: %d refreshes and %d Graph calls, want 1 and 2", r, c)
	}
	g.ms.Sim.ClearFault(id)

	// A POST is not sent twice: the token is refreshed for the next call and
	// Graph's 401 comes back.
	g.ms.Sim.Advance(11 * time.Second)
	g.ms.Sim.RevokeAccessTokens(g.ms.Demo.Adele.UPN)
	calls = g.graphCalls()
	mail := `{"message":{"subject":"once","toRecipients":[{"emailAddress":{"address":"a@b.example"}}]}}`
	resp, _ = g.do(t, "POST", "/v1.0/me/sendMail", mail, map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 401 || g.graphCalls()-calls != 1 {
		t.Fatalf("POST after revocation: %d after %d Graph calls", resp.StatusCode, g.graphCalls()-calls)
	}
	if resp, body := g.do(t, "POST", "/v1.0/me/sendMail", mail, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 202 {
		t.Fatalf("POST with the refreshed token: %d %s", resp.StatusCode, body)
	}
}

// When the refresh shows the user revoked the grant, the caller gets the
// broker's reauthorization_required, not Graph's 401.
func TestGraphProxyNeedsReauth(t *testing.T) {
	g := newGraphEnv(t, graphproxy.Options{})
	g.ms.Sim.Advance(11 * time.Second)
	if err := g.ms.Sim.RevokeUser(g.ms.Demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	g.ms.Sim.RevokeAccessTokens(g.ms.Demo.Adele.UPN)
	resp, body := g.do(t, "GET", "/v1.0/me/messages", "", nil)
	var p problem.Problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 409 || p.Code != "reauthorization_required" ||
		resp.Header.Get("Content-Type") != "application/problem+json" || p.AADSTS == "" {
		t.Fatalf("revoked grant: %d %s", resp.StatusCode, body)
	}
}
