package adminweb_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/admin/admintest"
)

// seedMany inserts n connections into a project with raw SQL as the
// database owner, spread over statuses, names and creators.
func seedMany(tb testing.TB, s *admintest.Server, tenantID, projectID, createdBy string, n int) {
	tb.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.DBURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `INSERT INTO connections (tenant_id, project_id, name, account_type, auth_type, status, status_reason,
		account_username, created_by, created_at, last_refresh_at, last_used_at)
		SELECT $1, $2, 'conn-' || lpad(i::text, 6, '0'), (ARRAY['common','tenant','consumers','organizations'])[1 + i % 4],
		       'authorization_code',
		       (ARRAY['active','active','active','needs_reauth','pending','config_error','disabled','consent_required'])[1 + i % 8],
		       CASE WHEN i % 8 IN (3, 5, 7) THEN 'Microsoft refused the refresh token.' ELSE '' END,
		       'user' || i || '@contoso.test', $4, now() - (i || ' seconds')::interval,
		       now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
		FROM generate_series(1, $3) AS i`, tenantID, projectID, n, createdBy)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkConnectionsPageAt100k renders the whole /connections page over
// HTTP (session, viewer, page query, status counts, last callers, template)
// with 100,000 connections in the tenant.
func BenchmarkConnectionsPageAt100k(b *testing.B) {
	s := admintest.NewAt(b, "127.0.0.1")
	seedMany(b, s, s.Tenant.ID, s.Sales.ID, s.Admin.ID, 100_000)
	for _, c := range []struct{ name, email, path string }{
		{"admin_first_page", s.Admin.Email, "/connections"},
		{"admin_broken", s.Admin.Email, "/connections?status=broken"},
		{"admin_search", s.Admin.Email, "/connections?q=user4242"},
		{"admin_by_name", s.Admin.Email, "/connections?sort=name"},
		{"member_first_page", s.Member.Email, "/connections"},
		{"operator_first_page", s.Operator.Email, "/connections"},
	} {
		br := s.Browser(b).SignIn(c.email)
		res := br.Get(c.path)
		admintest.WantStatus(b, res, http.StatusOK)
		if !strings.Contains(res.Body, `id="connections"`) {
			b.Fatalf("%s: no rows", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if res := br.Get(c.path); res.StatusCode != http.StatusOK {
					b.Fatal(res.StatusCode)
				}
			}
		})
	}
}
