package adminweb_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

var reEndpointHref = regexp.MustCompile(`href="/webhooks/([0-9a-f-]{36})" id="stored"`)

// Rotating a webhook's signing secret, and deleting the endpoint, are
// confirmed like other secret and destructive actions: inside the window at
// once, after it with the password; a missing or wrong password is a 422
// that shows no secret and changes nothing.
func TestWebhookRotationAndDeleteAskForThePasswordAfterTheWindow(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer rcv.Close()
	b := s.Browser(t).SignIn(s.Admin.Email)
	res := b.Post("/webhooks", url.Values{"url": {rcv.URL + "/hook"}, "event_types": {"connection.status_changed"}})
	admintest.WantStatus(t, res, http.StatusCreated)
	m := reEndpointHref.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no endpoint link on the secret page:\n%s", res.Body)
	}
	id, href := m[1], "/webhooks/"+m[1]
	first := secretPattern.FindString(html.UnescapeString(res.Body))
	admintest.WantBody(t, b.Get(href), `id="rotate" href="`+href+`/rotate-secret"`)
	rotated := func() bool {
		t.Helper()
		ep, err := s.Store.WebhookEndpoint(ctx, s.Tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return ep.PreviousSecretUntil != nil
	}

	// Just signed in: the confirmation asks nothing more.
	admintest.WantNotInBody(t, b.Get(href+"/rotate-secret"), `name="password"`)

	s.Clock.Advance(16 * time.Minute)
	admintest.WantBody(t, b.Get(href+"/rotate-secret"), `name="password"`, "more than 15 minutes ago", "keeps signing too for 24 hours")
	for _, tc := range []struct{ password, want string }{
		{"", "you last entered it more than 15 minutes ago"},
		{"not-the-password", "That password is wrong."},
	} {
		res := b.Post(href+"/rotate-secret", url.Values{"password": {tc.password}})
		admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
		admintest.WantBody(t, res, `id="password-error"`, tc.want)
		if secretPattern.MatchString(html.UnescapeString(res.Body)) {
			t.Fatalf("a refused rotation shows a secret:\n%s", res.Body)
		}
		if rotated() {
			t.Fatalf("password %q: the secret was rotated", tc.password)
		}
	}

	res = b.Post(href+"/rotate-secret", url.Values{"password": {conntest.Password}})
	admintest.WantStatus(t, res, http.StatusOK)
	second := secretPattern.FindString(html.UnescapeString(res.Body))
	if second == "" || second == first {
		t.Fatalf("new secret %q (first %q)", second, first)
	}
	admintest.WantBody(t, res, "Signing secret rotated", "Still signs until")
	if !rotated() {
		t.Fatal("the page showed a new secret, but the endpoint was not rotated")
	}
	conntest.AssertNoPlaintext(t, s.DBURL, second, strings.TrimPrefix(second, "whsec_"))

	// The password just typed opens a new window: no password asked now.
	res = b.Post(href+"/rotate-secret", url.Values{})
	admintest.WantStatus(t, res, http.StatusOK)
	if third := secretPattern.FindString(html.UnescapeString(res.Body)); third == "" || third == second {
		t.Fatalf("inside the new window: %q", third)
	}

	// Another tenant's endpoint, or none: 404, as before.
	for _, a := range []string{"rotate-secret", "delete"} {
		admintest.WantStatus(t, b.Get("/webhooks/00000000-0000-4000-8000-000000000000/"+a), http.StatusNotFound)
		admintest.WantStatus(t, b.Post("/webhooks/00000000-0000-4000-8000-000000000000/"+a, url.Values{"password": {conntest.Password}}), http.StatusNotFound)
	}

	// Deleting the endpoint is confirmed the same way.
	admintest.WantBody(t, b.Get(href), `id="delete" href="`+href+`/delete"`)
	admintest.WantNotInBody(t, b.Get(href+"/delete"), `name="password"`)
	s.Clock.Advance(16 * time.Minute)
	admintest.WantBody(t, b.Get(href+"/delete"), `name="password"`, "Delete endpoint", "cannot be undone")
	res = b.Post(href+"/delete", url.Values{"password": {"not-the-password"}})
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	admintest.WantBody(t, res, "That password is wrong.")
	if _, err := s.Store.WebhookEndpoint(ctx, s.Tenant.ID, id); err != nil {
		t.Fatalf("a refused delete deleted: %v", err)
	}
	admintest.WantRedirect(t, b.Post(href+"/delete", url.Values{"password": {conntest.Password}}), "/webhooks")
	if _, err := s.Store.WebhookEndpoint(ctx, s.Tenant.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the delete: %v", err)
	}
}
