package admin

import (
	"slices"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

func TestAvailableActions(t *testing.T) {
	member := Viewer{Kind: KindUser, TenantID: "t", ProjectIDs: []string{"p"}}
	tenantAdmin := Viewer{Kind: KindUser, TenantID: "t", Admin: true, AllProjects: true}
	key := Viewer{Kind: KindAPIKey, TenantID: "t", Admin: true, ProjectIDs: []string{"p"}}
	operator := Viewer{Kind: KindOperator}
	code := store.Connection{ProjectID: "p", AuthType: "authorization_code"}
	app := store.Connection{ProjectID: "p", AuthType: "client_credentials"}
	with := func(c store.Connection, status, statusCode string) store.Connection {
		c.Status, c.StatusCode = status, statusCode
		c.NeedsApproval = status == "awaiting_approval"
		return c
	}
	for _, c := range []struct {
		name string
		v    Viewer
		c    store.Connection
		want []Action
	}{
		{"member, active", member, with(code, "active", ""), []Action{ActTest}},
		{"member, pending", member, with(code, "pending", ""), nil},
		{"admin, active", tenantAdmin, with(code, "active", ""), []Action{ActTest, ActDisable, ActDelete}},
		{"admin, app", tenantAdmin, with(app, "config_error", "AADSTS7000222"), []Action{ActTest, ActRotate, ActDisable, ActDelete}},
		{"admin, disabled", tenantAdmin, with(code, "disabled", ""), []Action{ActEnable, ActDelete}},
		{"admin, rejected", tenantAdmin, with(app, "disabled", rejectedCode), []Action{ActDelete}},
		{"admin, awaiting", tenantAdmin, with(code, "awaiting_approval", ""), []Action{ActTest, ActApprove, ActReject, ActDisable, ActDelete}},
		{"admin key, awaiting", key, with(code, "awaiting_approval", ""), []Action{ActTest, ActApprove, ActReject, ActDisable, ActDelete}},
		{"operator, awaiting", operator, with(code, "awaiting_approval", ""), []Action{ActTest, ActDisable, ActDelete}},
		{"operator, app", operator, with(app, "active", ""), []Action{ActTest, ActDisable, ActDelete}},
	} {
		if got := Available(c.v, c.c); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if e := Check(member, with(code, "active", ""), ActDelete); e == nil || e.Code != CodeForbidden {
		t.Errorf("member delete: %v", e)
	}
	if e := Check(tenantAdmin, with(code, "active", ""), ActEnable); e == nil || e.Code != CodeConflict {
		t.Errorf("enable active: %v", e)
	}
}

func TestViewerScope(t *testing.T) {
	if got := (Viewer{Kind: KindUser, TenantID: "t"}).projectScope(); got == nil || len(got) != 0 {
		t.Fatalf("member of no project: %v, want an empty, non-nil scope", got)
	}
	if got := (Viewer{Kind: KindUser, TenantID: "t", Admin: true, AllProjects: true}).projectScope(); got != nil {
		t.Fatalf("tenant admin: %v", got)
	}
	if (Viewer{Kind: KindUser, TenantID: "t", ProjectIDs: []string{"a"}}).mayUse("b") {
		t.Fatal("member may use another project")
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	if e, err := ParseExpiry("", now); e != nil || err != nil {
		t.Fatalf("empty: %v %v", e, err)
	}
	e, err := ParseExpiry("2026-03-04", now)
	if err != nil || e.Format(time.RFC3339) != "2026-03-04T23:59:59Z" {
		t.Fatalf("today: %v %v", e, err)
	}
	for _, bad := range []string{"2026-03-03", "04/03/2026", "soon"} {
		if _, err := ParseExpiry(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
