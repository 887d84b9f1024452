package adminweb_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

var keyPattern = regexp.MustCompile(`brk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}`)

func TestCreateKeyShownOnceScopedAndRevoked(t *testing.T) {
	s := admintest.New(t)
	b := s.Browser(t).SignIn(s.Admin.Email)
	admintest.WantBody(t, b.Get("/api-keys"), "No API keys yet", `name="projects" value="`+s.Sales.ID+`"`)

	res := b.Post("/api-keys", url.Values{"name": {" "}})
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	admintest.WantBody(t, res, `id="name-error"`)
	res = b.Post("/api-keys", url.Values{"name": {"x"}, "projects": {s.GlobexOp.ID}})
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)

	res = b.Post("/api-keys", url.Values{"name": {"sales-bot"}, "projects": {s.Sales.ID}, "admin": {"on"}})
	admintest.WantStatus(t, res, http.StatusCreated)
	key := keyPattern.FindString(res.Body)
	if key == "" {
		t.Fatalf("no key on the page:\n%s", res.Body)
	}
	admintest.WantBody(t, res, "shown only this once", "Tokens and admin API", "Sales")
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	conntest.AssertNoPlaintext(t, s.DBURL, key, key[len("brk_")+13:])
	// The form sent again (a reloaded page) makes no second key.
	again := b.Post("/api-keys", url.Values{"name": {"Sales-Bot"}, "projects": {s.Sales.ID}, "admin": {"on"}})
	admintest.WantStatus(t, again, http.StatusUnprocessableEntity)
	admintest.WantBody(t, again, "already exists")
	if keyPattern.FindString(again.Body) != "" {
		t.Fatal("a second key was made")
	}
	list := b.Get("/api-keys")
	admintest.WantBody(t, list, "sales-bot", key[:len("brk_")+12], "Tokens and admin API")
	admintest.WantNotInBody(t, list, key)

	// Scoped to Sales: Support's connection does not exist for it.
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SupportConn.ID), key, ""), http.StatusNotFound)
	admintest.WantStatus(t, s.API(t, http.MethodGet, "/api/v1/admin/connections", key, ""), http.StatusOK)

	ev, _ := s.Store.ListAudit(context.Background(), s.Tenant.ID, store.AuditFilter{Action: "api_key.created"})
	if len(ev) != 1 || ev[0].Details["name"] != "sales-bot" || ev[0].ActorLabel != s.Admin.Email {
		t.Fatalf("audit: %+v", ev)
	}
	keys, _ := s.Store.ListAPIKeys(context.Background(), s.Tenant.ID)
	admintest.WantBody(t, b.Get("/api-keys/"+keys[0].ID+"/revoke"), "Revoke sales-bot", "cannot be undone")
	res = b.Post("/api-keys/"+keys[0].ID+"/revoke", url.Values{"reason": {"leaked in a log"}})
	admintest.WantRedirect(t, res, "/api-keys")
	// Refused at once on this replica: the verifier's cache dropped it.
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusUnauthorized)
	admintest.WantBody(t, b.Get("/api-keys"), "Revoked")
	admintest.WantStatus(t, b.Get("/api-keys/"+keys[0].ID+"/revoke"), http.StatusConflict)
	ev, _ = s.Store.ListAudit(context.Background(), s.Tenant.ID, store.AuditFilter{Action: "api_key.revoked"})
	if len(ev) != 1 || ev[0].Reason != "leaked in a log" {
		t.Fatalf("audit: %+v", ev)
	}
	if strings.Contains(s.Logs.String(), key) {
		t.Fatal("the key is in the log")
	}
}

func TestKeyActionsAskForThePasswordWhenTheSignInIsOld(t *testing.T) {
	s := admintest.New(t)
	b := s.Browser(t).SignIn(s.Admin.Email)
	s.Clock.Advance(16 * time.Minute)
	admintest.WantBody(t, b.Get("/api-keys"), `name="password"`)
	res := b.Post("/api-keys", url.Values{"name": {"late-key"}})
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	admintest.WantBody(t, res, `id="password-error"`, `value="late-key"`)
	res = b.Post("/api-keys", url.Values{"name": {"late-key"}, "password": {conntest.Password}})
	admintest.WantStatus(t, res, http.StatusCreated)
}
