package mssim

import (
	"net/http"
	"strings"
	"testing"
)

// The broker's own app, driven through /_sim/: its secret expires
// (AADSTS7000222 for every refresh), is renewed (accepted again), the app
// is disabled (7000112) and enabled; a wrong secret stays 7000215.
func TestBrokerAppStateControls(t *testing.T) {
	e := newTestEnv(t)
	rt := e.redeem("common", e.demo.Adele.UPN, nil).RefreshToken
	app := e.demo.WebApp.ClientID
	control := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+"/_sim/apps/"+app+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	ok := func() {
		t.Helper()
		r := e.refresh("common", rt)
		if r.status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		rt = r.ok.RefreshToken
	}
	ok()

	control(http.MethodPost, "/secrets/expire", "")
	wantTokenError(t, e.refresh("common", rt), 401, "invalid_client", 7000222)
	// Client credentials with the same app fail the same way.
	wantTokenError(t, e.postToken(DemoContosoTenantID, e.webForm("grant_type", "client_credentials",
		"scope", "https://graph.microsoft.com/.default")), 401, "invalid_client", 7000222)

	control(http.MethodPut, "/secrets/expiry", `{"expires":"2027-03-01T00:00:00Z"}`)
	ok()
	wantTokenError(t, e.refresh("common", rt, "client_secret", "not-the-secret"), 401, "invalid_client", 7000215)

	control(http.MethodPost, "/disable", "")
	r := e.refresh("common", rt)
	wantTokenError(t, r, 400, "unauthorized_client", 7000112)
	if !strings.Contains(r.err.ErrorDescription, "is disabled") {
		t.Fatalf("description %q", r.err.ErrorDescription)
	}
	control(http.MethodPost, "/enable", "")
	ok()

	for _, bad := range []struct{ method, path, body string }{
		{http.MethodPost, "/_sim/apps/nope/disable", ""},
		{http.MethodPut, "/_sim/apps/" + app + "/secrets/expiry", `{}`},
	} {
		req, _ := http.NewRequest(bad.method, e.srv.URL+bad.path, strings.NewReader(bad.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Fatalf("%s %s: %d, want a 4xx", bad.method, bad.path, resp.StatusCode)
		}
	}
}
