package connectweb_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

// A tenant admin sets the connect page's look and return origins on
// /settings/connect; a session's return_url is then accepted from the new
// origin and refused from the one the admin removed; the change is audited.
func TestConnectSettingsPage(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	admin := s.client(t).signIn(s.Admin.Email)
	status, page := admin.do(http.MethodGet, "/settings/connect", nil)
	if status != 200 || !strings.Contains(page, `value="Northwind CRM"`) || !strings.Contains(page, s.Product.URL+"</textarea>") ||
		!strings.Contains(page, `href="/settings/connect" aria-current="page"`) {
		t.Fatalf("settings page %d:\n%s", status, page)
	}
	status, _ = admin.do(http.MethodPost, "/settings/connect", url.Values{"display_name": {" Acme CRM "},
		"logo_url": {"https://acme.example/logo.png"}, "color": {"#1A2B3C"},
		"allowed_return_origins": {"https://app.acme.example/\r\n\r\nhttp://localhost:3000\n"}})
	if status != http.StatusSeeOther {
		t.Fatalf("save: %d", status)
	}
	got, err := s.Store.ConnectSettings(ctx, s.Tenant.ID)
	if err != nil || got.DisplayName != "Acme CRM" || got.BrandColor != "#1a2b3c" || got.LogoURL != "https://acme.example/logo.png" ||
		!slices.Equal(got.AllowedReturnOrigins, []string{"https://app.acme.example", "http://localhost:3000"}) {
		t.Fatalf("stored %+v (%v)", got, err)
	}
	if _, page := admin.do(http.MethodGet, "/settings/connect", nil); !strings.Contains(page, "Connect link settings saved") {
		t.Fatalf("no flash:\n%s", page)
	}
	s.create(t, map[string]any{"return_url": "https://app.acme.example/outlook/done?x=1"})
	status, prob := s.api(t, http.MethodPost, "/api/v1/connect-sessions", map[string]any{"project": "Sales",
		"end_user": map[string]any{"id": "u-dana"}, "return_url": s.Product.URL + "/outlook/connected"}, nil)
	if status != http.StatusUnprocessableEntity || prob["field"] != "return_url" {
		t.Fatalf("old origin: %d %v", status, prob)
	}
	events, err := s.Store.ListAudit(ctx, s.Tenant.ID, store.AuditFilter{Action: "tenant.connect_settings_changed"})
	if err != nil || len(events) != 1 || events[0].ActorID != s.Admin.ID || events[0].Details["color"] != "#1a2b3c" {
		t.Fatalf("audit %+v (%v)", events, err)
	}
}

// Each invalid field is refused with 422 naming it, the typed values kept,
// and nothing saved or audited.
func TestConnectSettingsPageRefusesBadFields(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	before, err := s.Store.ConnectSettings(ctx, s.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin := s.client(t).signIn(s.Admin.Email)
	good := url.Values{"display_name": {"Acme"}, "logo_url": {"https://acme.example/l.png"}, "color": {"#0f7b6c"},
		"allowed_return_origins": {"https://app.acme.example"}}
	for field, bad := range map[string]string{"display_name": "Acme\x07CRM", "logo_url": "http://acme.example/l.png",
		"color": "teal", "allowed_return_origins": "https://app.acme.example\nhttps://app.acme.example/callback"} {
		t.Run(field, func(t *testing.T) {
			form := url.Values{}
			for k, v := range good {
				form[k] = v
			}
			form.Set(field, bad)
			status, page := admin.do(http.MethodPost, "/settings/connect", form)
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, `id="`+field+`-error"`) ||
				strings.Count(page, `class="field-error"`) != 1 {
				t.Fatalf("%d:\n%s", status, page)
			}
			for _, kept := range []string{"https://acme.example/l.png", "#0f7b6c", "https://app.acme.example"} {
				if field != "logo_url" && field != "color" && !strings.Contains(page, kept) {
					t.Fatalf("value %q not kept:\n%s", kept, page)
				}
			}
			if field == "color" && !strings.Contains(page, `value="teal"`) {
				t.Fatalf("bad value not kept:\n%s", page)
			}
			after, err := s.Store.ConnectSettings(ctx, s.Tenant.ID)
			if err != nil || after.DisplayName != before.DisplayName || after.BrandColor != before.BrandColor ||
				after.LogoURL != before.LogoURL || !slices.Equal(after.AllowedReturnOrigins, before.AllowedReturnOrigins) {
				t.Fatalf("changed: %+v (%v)", after, err)
			}
		})
	}
	if events, err := s.Store.ListAudit(ctx, s.Tenant.ID, store.AuditFilter{Action: "tenant.connect_settings_changed"}); err != nil || len(events) != 0 {
		t.Fatalf("audited a refusal: %+v (%v)", events, err)
	}
}

// Members and operators may neither open nor post the page; members do
// not see it in the nav.
func TestConnectSettingsPageIsForAdmins(t *testing.T) {
	s := newServer(t)
	hash, _ := auth.CheapParams.Hash(conntest.Password)
	if _, err := s.Store.CreateOperator(context.Background(), "ops@broker.test", hash); err != nil {
		t.Fatal(err)
	}
	operator := s.client(t).signIn("ops@broker.test")
	if status, _ := operator.do(http.MethodGet, "/settings/connect", nil); status != http.StatusForbidden {
		t.Fatalf("operator GET: %d", status)
	}
	if status, _ := operator.do(http.MethodPost, "/settings/connect", url.Values{"color": {"#000000"}}); status != http.StatusForbidden {
		t.Fatalf("operator POST: %d", status)
	}
	member := s.client(t).signIn(s.Member.Email)
	if status, page := member.do(http.MethodGet, "/settings/connect", nil); status != http.StatusForbidden || strings.Contains(page, "connect-settings") {
		t.Fatalf("member GET: %d", status)
	}
	if status, _ := member.do(http.MethodPost, "/settings/connect", url.Values{"color": {"#000000"}}); status != http.StatusForbidden {
		t.Fatalf("member POST: %d", status)
	}
	if _, page := member.do(http.MethodGet, "/connections", nil); strings.Contains(page, `href="/settings/connect"`) {
		t.Fatal("a member sees the Connect links nav link")
	}
	got, err := s.Store.ConnectSettings(context.Background(), s.Tenant.ID)
	if err != nil || got.BrandColor != "#0f7b6c" {
		t.Fatalf("a member's post changed settings: %+v (%v)", got, err)
	}
	if status, _ := s.client(t).do(http.MethodGet, "/settings/connect", nil); status != http.StatusSeeOther {
		t.Fatalf("anonymous: %d", status)
	}
}
