package adminweb_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

// roles signs in one browser per role; "" is anonymous.
func roles(t *testing.T, s *admintest.Server) map[string]*admintest.Browser {
	t.Helper()
	return map[string]*admintest.Browser{
		"anonymous":    s.Browser(t),
		"member":       s.Browser(t).SignIn(s.Member.Email),
		"admin":        s.Browser(t).SignIn(s.Admin.Email),
		"operator":     s.Browser(t).SignIn(s.Operator.Email),
		"other tenant": s.Browser(t).SignIn(s.GilAdmin.Email),
	}
}

func wantLogin(t *testing.T, res admintest.Response) {
	t.Helper()
	admintest.WantStatus(t, res, http.StatusSeeOther)
	if !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("%s %s: Location %q, want the sign-in page", res.Request.Method, res.Request.URL.Path, res.Header.Get("Location"))
	}
}

func TestListShowsEachRoleItsConnections(t *testing.T) {
	s := admintest.New(t)
	b := roles(t, s)
	all := map[string]string{"Sales inbox": s.SalesConn.ID, "Support inbox": s.SupportConn.ID, "Daemon": s.AppConn.ID,
		"Globex ops": s.GlobexConn.ID}
	sees := map[string][]string{
		"member":       {"Sales inbox", "Daemon"},
		"admin":        {"Sales inbox", "Support inbox", "Daemon"},
		"operator":     {"Sales inbox", "Support inbox", "Daemon", "Globex ops"},
		"other tenant": {"Globex ops"},
	}
	wantLogin(t, b["anonymous"].Get("/connections"))
	for role, names := range sees {
		t.Run(role, func(t *testing.T) {
			res := b[role].Get("/connections")
			admintest.WantStatus(t, res, http.StatusOK)
			for name, id := range all {
				shown := strings.Contains(res.Body, id)
				if want := contains(names, name); shown != want {
					t.Errorf("%s sees %s: %v, want %v", role, name, shown, want)
				}
			}
			if tenantColumn := strings.Contains(res.Body, `<th scope="col" class="col-tenant">Tenant</th>`); tenantColumn != (role == "operator") {
				t.Errorf("tenant column shown: %v", tenantColumn)
			}
			// The project filter offers only the viewer's projects.
			if role == "member" && strings.Contains(res.Body, s.Support.ID) {
				t.Error("member is offered another project in the filter")
			}
			// A member asking for another project's rows by filter gets none.
			res = b[role].Get("/connections?project=" + s.Support.ID)
			admintest.WantStatus(t, res, http.StatusOK)
			if role == "member" {
				admintest.WantNotInBody(t, res, s.SupportConn.ID)
			}
		})
	}
	// A member of no project sees nothing, not everything.
	hash, _ := auth.CheapParams.Hash(conntest.Password)
	if _, err := s.Store.CreateUser(t.Context(), s.Tenant.ID, "nobody@acme.test", hash, store.RoleMember, nil); err != nil {
		t.Fatal(err)
	}
	res := s.Browser(t).SignIn("nobody@acme.test").Get("/connections")
	admintest.WantBody(t, res, `id="empty"`)
	for _, id := range all {
		admintest.WantNotInBody(t, res, id)
	}
	// Operators narrow to one tenant.
	res = b["operator"].Get("/connections?tenant=globex")
	admintest.WantBody(t, res, s.GlobexConn.ID, `<option value="globex" selected>`)
	admintest.WantNotInBody(t, res, s.SalesConn.ID)
}

func TestConfirmPagesByRole(t *testing.T) {
	s := admintest.New(t)
	b := roles(t, s)
	type want map[string]int // role → status
	ok, nf, fb := http.StatusOK, http.StatusNotFound, http.StatusForbidden
	cases := []struct {
		conn   string
		action admin.Action
		want   want
	}{
		{s.SalesConn.ID, admin.ActTest, want{"member": ok, "admin": ok, "operator": ok, "other tenant": nf}},
		{s.SalesConn.ID, admin.ActDisable, want{"member": fb, "admin": ok, "operator": ok, "other tenant": nf}},
		{s.SalesConn.ID, admin.ActDelete, want{"member": fb, "admin": ok, "operator": ok, "other tenant": nf}},
		{s.SalesConn.ID, admin.ActEnable, want{"member": fb, "admin": http.StatusConflict, "operator": http.StatusConflict, "other tenant": nf}},
		{s.SalesConn.ID, admin.ActApprove, want{"member": fb, "admin": http.StatusConflict, "operator": fb, "other tenant": nf}},
		{s.SalesConn.ID, admin.ActRotate, want{"member": fb, "admin": http.StatusConflict, "operator": fb, "other tenant": nf}},
		{s.AppConn.ID, admin.ActRotate, want{"member": fb, "admin": ok, "operator": fb, "other tenant": nf}},
		{s.SupportConn.ID, admin.ActTest, want{"member": nf, "admin": ok, "operator": ok, "other tenant": nf}},
		{s.GlobexConn.ID, admin.ActDisable, want{"member": nf, "admin": nf, "operator": ok, "other tenant": ok}},
		{"00000000-0000-4000-8000-000000000000", admin.ActTest, want{"member": nf, "admin": nf, "operator": nf, "other tenant": nf}},
		{"not-a-uuid", admin.ActTest, want{"member": nf, "admin": nf, "operator": nf, "other tenant": nf}},
	}
	for _, c := range cases {
		path := "/connections/" + c.conn + "/confirm/" + string(c.action)
		wantLogin(t, b["anonymous"].Get(path))
		for role, status := range c.want {
			res := b[role].Get(path)
			if res.StatusCode != status {
				t.Errorf("%s GET %s: %d, want %d", role, path, res.StatusCode, status)
			}
			if status == ok && !strings.Contains(res.Body, `action="/connections/`+c.conn+`/`+string(c.action)+`"`) {
				t.Errorf("%s GET %s: no form posting the action", role, path)
			}
		}
	}
	res := b["admin"].Get("/connections/" + s.SalesConn.ID + "/confirm/explode")
	admintest.WantStatus(t, res, http.StatusNotFound)
}

// TestActionsRefusedByRole posts every action as every role where it must
// be refused: nothing may change, and another tenant's (or project's)
// connection is 404 whatever the action.
func TestActionsRefusedByRole(t *testing.T) {
	s := admintest.New(t)
	b := roles(t, s)
	form := url.Values{"reason": {"testing"}, "password": {"x"}}
	for _, a := range admin.Actions {
		for _, c := range []struct {
			role, conn string
			status     int
		}{
			{"member", s.SupportConn.ID, http.StatusNotFound},
			{"member", s.GlobexConn.ID, http.StatusNotFound},
			{"admin", s.GlobexConn.ID, http.StatusNotFound},
			{"other tenant", s.SalesConn.ID, http.StatusNotFound},
			{"other tenant", "00000000-0000-4000-8000-000000000000", http.StatusNotFound},
		} {
			res := b[c.role].Post("/connections/"+c.conn+"/"+string(a), form)
			if res.StatusCode != c.status {
				t.Errorf("%s POST %s on %s: %d, want %d", c.role, a, c.conn, res.StatusCode, c.status)
			}
		}
		wantLogin(t, b["anonymous"].Post("/connections/"+s.SalesConn.ID+"/"+string(a), form))
		if a != admin.ActTest {
			res := b["member"].Post("/connections/"+s.SalesConn.ID+"/"+string(a), form)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("member POST %s on own project: %d, want 403", a, res.StatusCode)
			}
		}
	}
	for _, a := range []admin.Action{admin.ActRotate, admin.ActApprove, admin.ActReject} {
		res := b["operator"].Post("/connections/"+s.AppConn.ID+"/"+string(a), form)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("operator POST %s: %d, want 403", a, res.StatusCode)
		}
	}
	for _, c := range []struct{ conn, name string }{{s.SalesConn.ID, "Sales"}, {s.SupportConn.ID, "Support"},
		{s.GlobexConn.ID, "Globex"}, {s.AppConn.ID, "Daemon"}} {
		got, err := s.AdminSvc.Connection(t.Context(), admin.Viewer{Kind: admin.KindOperator}, c.conn)
		if err != nil || got.Status != "active" {
			t.Fatalf("%s after refused actions: %v %v", c.name, got.Status, err)
		}
	}
}

func TestAuditAndKeysPagesByRole(t *testing.T) {
	s := admintest.New(t)
	b := roles(t, s)
	key := s.APIKey(t, s.Tenant.ID, "acme-sync", false)
	gkey := s.APIKey(t, s.Globex.ID, "globex-sync", false)
	_ = key
	_ = gkey
	acmeKeys, _ := s.Store.ListAPIKeys(t.Context(), s.Tenant.ID)

	for path, want := range map[string]map[string]int{
		"/audit":            {"member": 403, "admin": 200, "operator": 200, "other tenant": 200},
		"/audit?format=csv": {"member": 403, "admin": 200, "operator": 200, "other tenant": 200},
		"/api-keys":         {"member": 403, "admin": 200, "operator": 403, "other tenant": 200},
		"/api-keys/" + acmeKeys[0].ID + "/revoke": {"member": 403, "admin": 200, "operator": 403, "other tenant": 404},
	} {
		wantLogin(t, b["anonymous"].Get(path))
		for role, status := range want {
			if res := b[role].Get(path); res.StatusCode != status {
				t.Errorf("%s GET %s: %d, want %d", role, path, res.StatusCode, status)
			}
		}
	}
	// Each sees only its tenant's events and keys.
	res := b["admin"].Get("/audit")
	admintest.WantBody(t, res, "Sales inbox", "ada@acme.test")
	admintest.WantNotInBody(t, res, "Globex ops", "gil@globex.test")
	res = b["other tenant"].Get("/audit")
	admintest.WantBody(t, res, "Globex ops")
	admintest.WantNotInBody(t, res, "Sales inbox", "ada@acme.test")
	res = b["operator"].Get("/audit")
	admintest.WantBody(t, res, "Globex ops", "Sales inbox", `<th scope="col" class="col-tenant">Tenant</th>`)
	res = b["other tenant"].Get("/api-keys")
	admintest.WantBody(t, res, "globex-sync")
	admintest.WantNotInBody(t, res, "acme-sync")
	res = b["admin"].Get("/audit?format=csv")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || strings.Contains(res.Body, "globex") {
		t.Fatalf("CSV: %s\n%s", res.Header.Get("Content-Type"), res.Body)
	}

	// Writes: create and revoke keys, the approval setting.
	create := url.Values{"name": {"x"}}
	for role, status := range map[string]int{"member": 403, "operator": 403} {
		if res := b[role].Post("/api-keys", create); res.StatusCode != status {
			t.Errorf("%s POST /api-keys: %d, want %d", role, res.StatusCode, status)
		}
		if res := b[role].Post("/settings/approval", url.Values{"require_approval": {"on"}}); res.StatusCode != status {
			t.Errorf("%s POST /settings/approval: %d, want %d", role, res.StatusCode, status)
		}
		if res := b[role].Post("/api-keys/"+acmeKeys[0].ID+"/revoke", nil); res.StatusCode != status {
			t.Errorf("%s revoke: %d, want %d", role, res.StatusCode, status)
		}
	}
	if res := b["other tenant"].Post("/api-keys/"+acmeKeys[0].ID+"/revoke", nil); res.StatusCode != 404 {
		t.Errorf("other tenant revoke: %d, want 404", res.StatusCode)
	}
	wantLogin(t, b["anonymous"].Post("/api-keys", create))
	wantLogin(t, b["anonymous"].Post("/settings/approval", url.Values{"require_approval": {"on"}}))
	if k, _ := s.Store.ListAPIKeys(t.Context(), s.Tenant.ID); len(k) != 1 || k[0].RevokedAt != nil {
		t.Fatalf("keys changed by refused requests: %+v", k)
	}
	if tn, _ := s.Store.Tenant(t.Context(), s.Tenant.ID); tn.RequireApproval {
		t.Fatal("approval turned on by a refused request")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
