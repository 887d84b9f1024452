package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

// Rotating a webhook's signing secret (or deleting the endpoint), for a
// session signed in with Microsoft and past the window, goes to Microsoft
// first (prompt=login, max_age=0) and changes nothing until the person is
// back.
func TestSSOWebhookRotationAsksMicrosoftAgain(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	admin := e.linkContoso(t)
	e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"role"}, "value": {"Broker.Admin"}, "role": {"admin"}})
	if err := e.sim.AssignAppRoles(e.demo.Adele.UPN, e.demo.WebApp.ClientID, []string{"Broker.Admin"}); err != nil {
		t.Fatal(err)
	}
	ep, err := e.a.Store.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{TenantID: e.seed.TenantID, URL: "https://hooks.example.com/broker",
		Secret: webhooks.NewSecret(), CreatedBy: e.demo.Adele.UPN})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	if r := e.ssoSignIn(t, c, e.demo.Adele.UPN); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	confirm := "/webhooks/" + ep.ID + "/rotate-secret"
	if r := e.do(t, c, "GET", confirm, nil); r.StatusCode != http.StatusOK || strings.Contains(bodyOf(t, r), `name="password"`) {
		t.Fatalf("inside the window: %d", r.StatusCode)
	}
	rotated := func() bool {
		t.Helper()
		got, err := e.a.Store.WebhookEndpoint(ctx, e.seed.TenantID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.PreviousSecretUntil != nil
	}

	e.clock.Advance(16 * time.Minute)
	want := "/login/microsoft/reauth?next=" + url.QueryEscape(confirm)
	for _, method := range []string{"GET", "POST"} {
		r := e.do(t, c, method, confirm, url.Values{})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Fatalf("%s after the window: %d to %q, want %q", method, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
	if rotated() {
		t.Fatal("rotated before Microsoft confirmed")
	}
	au := handoffURL(t, e.do(t, c, "GET", want, nil))
	back := e.viaMicrosoftURL(t, c, au, e.demo.Adele.UPN)
	if q := e.sim.LastAuthorizeRequest(); q.Get("prompt") != "login" || q.Get("max_age") != "0" {
		t.Fatalf("the sim saw prompt=%q max_age=%q", q.Get("prompt"), q.Get("max_age"))
	}
	if back.StatusCode != http.StatusSeeOther || back.Header.Get("Location") != confirm {
		t.Fatalf("back from Microsoft: %d to %q", back.StatusCode, back.Header.Get("Location"))
	}
	if rotated() {
		t.Fatal("rotated by coming back, before the button")
	}
	r := e.do(t, c, "POST", confirm, url.Values{})
	if body := bodyOf(t, r); r.StatusCode != http.StatusOK || !strings.Contains(body, "Signing secret rotated") {
		t.Fatalf("rotate: %d %s", r.StatusCode, body)
	}
	if !rotated() {
		t.Fatal("not rotated")
	}

	// Deleting the endpoint after the next window: Microsoft again first.
	e.clock.Advance(16 * time.Minute)
	del := "/webhooks/" + ep.ID + "/delete"
	if r := e.do(t, c, "POST", del, url.Values{}); r.StatusCode != http.StatusSeeOther ||
		r.Header.Get("Location") != "/login/microsoft/reauth?next="+url.QueryEscape(del) {
		t.Fatalf("delete after the window: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, err := e.a.Store.WebhookEndpoint(ctx, e.seed.TenantID, ep.ID); err != nil {
		t.Fatalf("deleted before Microsoft confirmed: %v", err)
	}
}
