package adminweb_test

import (
	"net/http"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
)

// The connection page (connweb) carries the admin sections for those who may
// see the connection; other tenants and out-of-scope members get 404, and
// operators review any tenant's connection.
func TestConnectionPageByRole(t *testing.T) {
	s := admintest.New(t)
	b := roles(t, s)
	page := "/connections/" + s.SalesConn.ID
	wantLogin(t, b["anonymous"].Get(page))
	for _, role := range []string{"member", "admin", "operator"} {
		res := b[role].Get(page)
		admintest.WantStatus(t, res, http.StatusOK)
		admintest.WantBody(t, res, `id="adm-history-title"`, `id="adm-audit-title"`, s.SalesConn.ID)
	}
	admintest.WantStatus(t, b["other tenant"].Get(page), http.StatusNotFound)
	admintest.WantStatus(t, b["member"].Get("/connections/"+s.SupportConn.ID), http.StatusNotFound)
	admintest.WantStatus(t, b["operator"].Get("/connections/"+s.GlobexConn.ID), http.StatusOK)
	admintest.WantStatus(t, b["operator"].Get("/connections/00000000-0000-0000-0000-000000000000"), http.StatusNotFound)
}
