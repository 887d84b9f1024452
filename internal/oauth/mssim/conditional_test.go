package mssim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
)

func TestConditionalAccess(t *testing.T) {
	e := newTestEnv(t)
	adele := e.demo.Adele.UPN
	tr := e.redeem("common", adele, nil)
	for _, c := range []struct {
		policy   string
		code     int
		suberror string
	}{{"block", 53003, "message_only"}, {"managed_device", 530003, "additional_action"}} {
		t.Run(c.policy, func(t *testing.T) {
			putJSON(t, e.srv.URL+"/_sim/users/"+adele+"/conditional-access", `{"policy":"`+c.policy+`"}`, http.StatusOK)
			r := e.refresh("common", tr.RefreshToken)
			wantTokenError(t, r, 400, "invalid_grant", c.code)
			if r.err.Suberror != c.suberror {
				t.Fatalf("suberror %q, want %q", r.err.Suberror, c.suberror)
			}
			// Interactively: Entra's own page, the app hears nothing; signing
			// in again does not lift it.
			_, err := SignIn(context.Background(), jarClient(t), e.authURL("common", nil), adele, SignInOptions{})
			if got := pageCode(t, err); got != c.code {
				t.Fatalf("interactive: AADSTS%d, want %d", got, c.code)
			}
			wantTokenError(t, e.refresh("common", tr.RefreshToken), 400, "invalid_grant", c.code)
		})
	}
	putJSON(t, e.srv.URL+"/_sim/users/"+adele+"/conditional-access", `{"policy":"off"}`, http.StatusOK)
	if r := e.refresh("common", tr.RefreshToken); r.status != 200 {
		t.Fatalf("after the policy was lifted: HTTP %d %+v", r.status, r.err)
	}
	putJSON(t, e.srv.URL+"/_sim/users/"+adele+"/conditional-access", `{"policy":"sometimes"}`, http.StatusBadRequest)
	// Other users are untouched throughout.
	if r := e.refresh("common", e.redeem("common", e.demo.Alex.UPN, nil).RefreshToken); r.status != 200 {
		t.Fatalf("Alex: HTTP %d", r.status)
	}
}

// Throttled as Entra throttles client-credential bursts: 429, Retry-After,
// and a body that is not JSON.
func TestThrottlingPlainText(t *testing.T) {
	e := newTestEnv(t)
	putJSON(t, e.srv.URL+"/_sim/faults", `{"endpoint":"token","grant":"client_credentials","times":1,"status":429,"retryAfter":"7s","body":"Too Many Requests","contentType":"text/plain"}`, http.StatusOK)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
		"client_secret": {DemoDaemonClientSecret}, "scope": {GraphResource + "/.default"}}
	r := e.postToken(e.demo.Contoso.ID, form)
	if r.status != 429 || r.header.Get("Retry-After") != "7" || r.header.Get("Content-Type") != "text/plain" || r.raw != "Too Many Requests" {
		t.Fatalf("HTTP %d, Retry-After %q, %q, body %q", r.status, r.header.Get("Retry-After"), r.header.Get("Content-Type"), r.raw)
	}
	if r := e.postToken(e.demo.Contoso.ID, form); r.status != 200 {
		t.Fatalf("after the burst: HTTP %d", r.status)
	}
}

// putJSON sends body to a control API URL (POST for /_sim/faults, else PUT).
func putJSON(t *testing.T, u, body string, want int) {
	t.Helper()
	method := http.MethodPut
	if bytes.HasSuffix([]byte(u), []byte("/faults")) {
		method = http.MethodPost
	}
	req, _ := http.NewRequest(method, u, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != want && !(want == http.StatusOK && res.StatusCode == http.StatusNoContent) {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, u, res.StatusCode, want, b)
	}
}
