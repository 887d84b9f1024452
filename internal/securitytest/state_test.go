package securitytest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Claim: an OAuth callback completes only the flow this browser session
// started, once. A forged, replayed, other-session or anonymous state
// changes nothing and says the link is no longer valid.
func TestOAuthStateForgedReplayedOrStolenChangesNothing(t *testing.T) {
	b := start(t)
	ctx := context.Background()
	mine := b.signInA(t)
	res := mine.post("/connections", newConnectionForm("State probe", b.projectID(t, "Sales")))
	callback := mine.toMicrosoft(res, b.Demo.Adele.UPN)
	cb, _ := url.Parse(callback)
	code := cb.Query().Get("code")
	count := func() int {
		n, err := b.App.Store.CountConnectionsByStatus(ctx, storeQuery(b.A.TenantID))
		if err != nil {
			t.Fatal(err)
		}
		return total(n)
	}
	before := count()

	forged := *cb
	q := forged.Query()
	q.Set("state", "forged-"+q.Get("state")[7:])
	forged.RawQuery = q.Encode()
	probes := []struct {
		name   string
		who    *client
		target string
		want   string
	}{
		{"forged state", mine, forged.String(), "no longer valid"},
		{"no state, a code", mine, "/oauth/callback?code=" + url.QueryEscape(code), "no longer valid"},
		{"another session of the same user", b.signInA(t), callback, "no longer valid"},
		{"another tenant's admin", b.signInB(t), callback, "no longer valid"},
		{"no session at all", b.client(t), callback, "session has ended"},
	}
	for _, p := range probes {
		res := p.who.get(p.target)
		wantStatus(t, res, http.StatusBadRequest)
		if !strings.Contains(res.Body, p.want) || strings.Contains(res.Body, code) {
			t.Errorf("%s: page lacks %q or shows the code\n%.400s", p.name, p.want, res.Body)
		}
		if n := count(); n != before {
			t.Fatalf("%s: %d connections, want %d", p.name, n, before)
		}
	}

	// The real callback still works once (the probes above did not spend
	// it), and its replay is refused.
	wantStatus(t, mine.get(callback), http.StatusSeeOther)
	after := count()
	res = mine.get(callback)
	wantStatus(t, res, http.StatusBadRequest)
	if !strings.Contains(res.Body, "no longer valid") || count() != after {
		t.Fatalf("replay: %d connections (want %d)\n%.400s", count(), after, res.Body)
	}
}

// Claim: an error redirect without state shows an anonymous visitor (or a
// session with no sign-in under way) nothing the link's author wrote, so a
// crafted link cannot make the broker's page speak for Microsoft.
func TestStatelessCallbackDoesNotEchoAttackerText(t *testing.T) {
	b := start(t)
	const lie = "Your account is locked call 555-0100 now"
	link := "/oauth/callback?" + url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: " + lie}}.Encode()
	for name, c := range map[string]*client{"anonymous": b.client(t), "signed in, no flow": b.signInA(t)} {
		res := c.get(link)
		if res.StatusCode >= 500 || strings.Contains(res.Body, lie) {
			t.Errorf("%s: %d, page shows the link's text: %v", name, res.StatusCode, strings.Contains(res.Body, lie))
		}
	}
}
