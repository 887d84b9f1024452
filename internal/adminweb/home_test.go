package adminweb_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

// TestHomeDashboardByRole: the home page leads with what needs attention
// (by cause, linking to the filtered list), shows each viewer the token
// traffic of their own scope as an SVG chart of 24 hours, recent activity
// to those who may read the audit log, the newest connections to members,
// and a new tenant its first step.
func TestHomeDashboardByRole(t *testing.T) {
	s := admintest.New(t)
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", true)
	for range 3 {
		admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)
	}
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SupportConn.ID), key, ""), http.StatusOK)
	if err := s.Usage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.SetStatus(t, s.SupportConn, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008", Reason: "revoked"})
	b := roles(t, s)

	admin := b["admin"].Get("/")
	admintest.WantStatus(t, admin, http.StatusOK)
	admintest.WantBody(t, admin, `id="attention"`, `href="/connections?status=needs_reauth"`,
		`<span class="attention-n">1</span> <span class="attention-text">connection needs re-authorization</span>`,
		`aria-label="4 tokens in the last 24 hours"`, `id="recent"`, `href="/audit"`)
	if n := strings.Count(admin.Body, `class="chart-bar"`); n != 24 {
		t.Errorf("admin's chart has %d bars, want one per hour: 24", n)
	}
	admintest.WantNotInBody(t, admin, `id="next-step"`, `id="all-clear"`)

	// The member sees Sales only: its 3 tokens, no audit, no Support.
	member := b["member"].Get("/")
	admintest.WantStatus(t, member, http.StatusOK)
	admintest.WantBody(t, member, `aria-label="3 tokens in the last 24 hours"`, `id="newest"`, s.SalesConn.Name, `id="all-clear"`)
	admintest.WantNotInBody(t, member, `href="/audit"`, `id="recent"`, s.SupportConn.Name, "needs re-authorization")

	// Operators: every tenant's health, nobody's traffic.
	op := b["operator"].Get("/")
	admintest.WantStatus(t, op, http.StatusOK)
	admintest.WantBody(t, op, "All tenants", "connection needs re-authorization", `id="recent"`)
	admintest.WantNotInBody(t, op, `id="traffic"`, `id="traffic-empty"`)

	emptyTenant(t, s)
	fresh := s.Browser(t).SignIn("new@empty.test").Get("/")
	admintest.WantStatus(t, fresh, http.StatusOK)
	admintest.WantBody(t, fresh, `id="next-step"`, `href="/connections/new"`, "No connections yet", `id="traffic-empty"`)
	admintest.WantNotInBody(t, fresh, `id="attention"`)
}

// TestHomeShowsFailingWebhooks: an endpoint whose deliveries fail and one
// the broker disabled after a 410 are on the admin's home page, linking to
// the webhooks page; a member, who manages no endpoints, sees neither.
func TestHomeShowsFailingWebhooks(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	for _, code := range []int{http.StatusInternalServerError, http.StatusGone} {
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(rcv.Close)
		ep, _, err := s.Webhooks.Create(ctx, s.Tenant.ID, s.Admin.ID, webhooks.Input{URL: rcv.URL})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Webhooks.SendTest(ctx, s.Tenant.ID, ep.ID, s.Admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	b := roles(t, s)
	before := b["admin"].Get("/")
	admintest.WantNotInBody(t, before, "webhook endpoint")

	w := &webhooks.Worker{Store: s.Store, Guard: s.Webhooks.Guard, Now: s.Clock.Now}
	if n, err := w.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("worker attempted %d deliveries (err %v), want 2", n, err)
	}
	home := b["admin"].Get("/")
	admintest.WantStatus(t, home, http.StatusOK)
	admintest.WantBody(t, home, `href="/webhooks"`,
		`<span class="attention-n">1</span> <span class="attention-text">webhook endpoint is failing</span>`,
		`<span class="attention-n">1</span> <span class="attention-text">webhook endpoint was disabled by the broker</span>`)
	admintest.WantNotInBody(t, b["member"].Get("/"), "webhook endpoint")
}
