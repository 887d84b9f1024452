package mssim

import (
	"context"
	"testing"
)

// LastAuthorizeRequest reports what the app asked for, refused or not, and
// its copy cannot change the sim's record.
func TestLastAuthorizeRequest(t *testing.T) {
	e := newTestEnv(t)
	if q := e.sim.LastAuthorizeRequest(); q != nil {
		t.Fatalf("before any request: %v", q)
	}
	if _, err := SignIn(context.Background(), jarClient(t), e.authURL("organizations", map[string]string{"prompt": "login", "max_age": "0",
		"login_hint": e.demo.Adele.UPN}), e.demo.Adele.UPN, SignInOptions{}); err != nil {
		t.Fatal(err)
	}
	q := e.sim.LastAuthorizeRequest()
	if q.Get("prompt") != "login" || q.Get("max_age") != "0" || q.Get("login_hint") != e.demo.Adele.UPN || q.Get("state") != "st-123" {
		t.Fatalf("seen: %v", q)
	}
	q.Set("prompt", "none")
	if got := e.sim.LastAuthorizeRequest().Get("prompt"); got != "login" {
		t.Fatalf("the copy changed the record: %q", got)
	}
	// A refused request (unknown scope) is recorded too.
	if _, err := SignIn(context.Background(), nil, e.authURL("common", map[string]string{"scope": "openid Mail.Fly"}), e.demo.Adele.UPN, SignInOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.LastAuthorizeRequest().Get("scope"); got != "openid Mail.Fly" {
		t.Fatalf("refused request: scope %q", got)
	}
}
