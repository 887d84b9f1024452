package adminweb_test

import (
	"context"
	"html/template"
	"net/http"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/store"
)

// TestSectionsRenderForEachRole renders the "admin_connection" partial from
// its file, as connection_show.html will include it, for each viewer.
func TestSectionsRenderForEachRole(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", false)
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)
	if err := s.Usage.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.SetStatus(t, s.SalesConn, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008", Reason: "revoked",
		TraceID: "trace-123", CorrelationID: "corr-456"})
	viewers := map[string]admin.Viewer{
		"member":   {Kind: admin.KindUser, ID: s.Member.ID, Label: s.Member.Email, TenantID: s.Tenant.ID, ProjectIDs: s.Member.ProjectIDs},
		"admin":    {Kind: admin.KindUser, ID: s.Admin.ID, Label: s.Admin.Email, TenantID: s.Tenant.ID, Admin: true, AllProjects: true},
		"operator": {Kind: admin.KindOperator, ID: s.Operator.ID, Label: s.Operator.Email},
	}
	for role, v := range viewers {
		d, err := s.AdminSvc.Detail(ctx, v, s.SalesConn.ID)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		html := renderSections(t, adminweb.SectionsOf(d, s.Clock.Now()), "")
		for _, want := range []string{"AADSTS70008", "trace-123", "corr-456", "billing-sync", "Needs re-authorization",
			"Connection created", "/connections/" + s.SalesConn.ID + "/confirm/test"} {
			if !strings.Contains(html, want) {
				t.Errorf("%s: sections lack %q", role, want)
			}
		}
		destructive := strings.Contains(html, "/confirm/delete")
		if destructive != (role != "member") {
			t.Errorf("%s: delete offered %v", role, destructive)
		}
		if link := strings.Contains(html, "/audit?connection="); link != (role != "member") {
			t.Errorf("%s: audit log link %v", role, link)
		}
	}
	// Out of scope is not found, for the page to answer 404.
	v := viewers["member"]
	if _, err := s.AdminSvc.Detail(ctx, v, s.SupportConn.ID); err == nil {
		t.Fatal("a member loaded another project's connection")
	}
}

// renderSections executes the partial from the template files.
func renderSections(t *testing.T, data *adminweb.Sections, base string) string {
	t.Helper()
	tpl, err := template.New("x").Funcs(template.FuncMap{"asset": func(name string) string { return base + "/static/" + name }}).
		ParseFiles("../../web/templates/_admin_connection.html")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := tpl.ExecuteTemplate(&sb, "admin_connection", data); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
