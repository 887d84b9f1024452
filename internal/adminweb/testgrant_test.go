package adminweb_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// Test connection proves the grant, not the cached token: after the user's
// sessions are revoked at Microsoft the cached access token still works for
// callers, yet the test fails with AADSTS50173, says which step failed, and
// the connection becomes Needs re-authorization.
func TestTestConnectionProvesTheRefreshToken(t *testing.T) {
	s := admintest.New(t)
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", false)
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)
	if err := s.Sim.RevokeUser(s.Demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	// The cached token still serves callers: only Microsoft knows the grant is dead.
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)

	before := s.Sim.Count(mssim.EndpointToken, "refresh_token")
	b := s.Browser(t).SignIn(s.Admin.Email)
	admintest.WantRedirect(t, b.Post("/connections/"+s.SalesConn.ID+"/test", nil), "/connections/"+s.SalesConn.ID)
	f := html.UnescapeString(flash(t, b, "/connections/"+s.SalesConn.ID))
	for _, want := range []string{"Test failed at step 1 of 2 (a new token from Microsoft with the stored refresh token)",
		"AADSTS50173", "The connection is now Needs re-authorization.", "Microsoft Graph was not tried."} {
		if !strings.Contains(f, want) {
			t.Fatalf("flash lacks %q: %s", want, f)
		}
	}
	if n := s.Sim.Count(mssim.EndpointToken, "refresh_token") - before; n != 1 {
		t.Fatalf("%d refresh requests at the test, want 1", n)
	}
	c, _, _ := s.Conn(s.SalesConn)
	if c.Status != "needs_reauth" || c.StatusCode != "AADSTS50173" {
		t.Fatalf("after the test: %s %s", c.Status, c.StatusCode)
	}
	// Callers now get the same answer, not the cached token.
	res := s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, "")
	admintest.WantStatus(t, res, http.StatusConflict)
	if code := problemCode(t, res); code != "reauthorization_required" {
		t.Fatalf("caller got %s", code)
	}

	// A working connection passes both steps, with a token Microsoft issued for the test.
	before = s.Sim.Count(mssim.EndpointToken, "refresh_token")
	admintest.WantRedirect(t, b.Post("/connections/"+s.SupportConn.ID+"/test", nil), "/connections/"+s.SupportConn.ID)
	f = html.UnescapeString(flash(t, b, "/connections/"+s.SupportConn.ID))
	if !strings.Contains(f, "Test passed: step 1, a new token from Microsoft with the stored refresh token: done; step 2, Microsoft Graph answered GET /v1.0/me for "+s.Demo.Alex.UPN) {
		t.Fatalf("passing flash: %s", f)
	}
	if n := s.Sim.Count(mssim.EndpointToken, "refresh_token") - before; n != 1 {
		t.Fatalf("%d refresh requests at a passing test, want 1", n)
	}
}

// Test connection takes the connection's refresh lease like every other
// refresh: while another refresh holds it (the token service, keep-alive or
// another replica, mid-call to Microsoft), the test asks Microsoft nothing,
// so the same refresh token is never sent twice at once, and says so.
func TestTestConnectionWaitsForARefreshInFlight(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	other := uuid.NewString()
	claim, err := s.Store.ClaimRefresh(ctx, s.Tenant.ID, s.SupportConn.ID, store.Lease{Holder: other, Length: time.Minute},
		func(store.Connection, store.Credentials, store.RefreshState) bool { return true })
	if err != nil || !claim.Held {
		t.Fatalf("claim: %+v %v", claim.Held, err)
	}
	before := s.Sim.Count(mssim.EndpointToken, "refresh_token")
	b := s.Browser(t).SignIn(s.Admin.Email)
	res := b.Post("/connections/"+s.SupportConn.ID+"/test", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(res.Body, "being refreshed right now. Test again in a few seconds.") {
		t.Fatalf("while another refresh holds the lease: %d %s", res.StatusCode, res.Body)
	}
	if n := s.Sim.Count(mssim.EndpointToken, "refresh_token") - before; n != 0 {
		t.Fatalf("%d refresh requests while another refresh held the lease, want 0", n)
	}
	// The holder finishes; the next test refreshes once and passes.
	if _, err := s.Store.FinishRefresh(ctx, s.Tenant.ID, s.SupportConn.ID, other, store.TokenWrite{}); err != nil {
		t.Fatal(err)
	}
	admintest.WantRedirect(t, b.Post("/connections/"+s.SupportConn.ID+"/test", nil), "/connections/"+s.SupportConn.ID)
	if f := html.UnescapeString(flash(t, b, "/connections/"+s.SupportConn.ID)); !strings.Contains(f, "Test passed") {
		t.Fatalf("flash after the lease was released: %s", f)
	}
	if n := s.Sim.Count(mssim.EndpointToken, "refresh_token") - before; n != 1 {
		t.Fatalf("%d refresh requests, want 1", n)
	}
}
