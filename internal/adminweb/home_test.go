package adminweb_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/store"
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
