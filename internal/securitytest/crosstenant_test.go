package securitytest

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// Claim: another tenant's IDs answer exactly like IDs that do not exist —
// 404 on every page, action and API — and nothing of theirs changes.
func TestForeignIDsAnswer404Everywhere(t *testing.T) {
	b := start(t)
	ctx := context.Background()
	a := b.A.ConnectionID // tenant A's connection, probed by tenant B
	const missing = "00000000-0000-4000-8000-000000000000"
	before, err := b.App.Store.Connection(ctx, b.A.TenantID, a)
	if err != nil {
		t.Fatal(err)
	}
	bAdmin := b.signInB(t)
	for _, id := range []string{a, missing} {
		pages := []string{"/connections/" + id, "/connections/" + id + "/confirm/delete", "/connections/" + id + "/confirm/disable"}
		for _, p := range pages {
			if res := bAdmin.get(p); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s as tenant B: %d, want 404", p, res.StatusCode)
			}
		}
		for _, action := range []string{"test", "disable", "enable", "delete", "rotate-secret", "approve", "reject", "reconnect", "admin-consent"} {
			res := bAdmin.post("/connections/"+id+"/"+action, map[string][]string{"reason": {"probe"}, "password": {bPassword}})
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s on %s as tenant B: %d, want 404", action, id, res.StatusCode)
			}
		}
		for _, key := range []string{b.B.TokenKey, b.B.AdmKey} {
			for _, p := range []string{"/api/v1/connections/" + id, "/api/v1/connections/" + id + "/token"} {
				res := bAdmin.bearer(key, p)
				if res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, "connection_not_found") {
					t.Errorf("GET %s with tenant B's key: %d %.200s", p, res.StatusCode, res.Body)
				}
			}
		}
		res := bAdmin.bearer(b.B.AdmKey, "/api/v1/admin/connections/"+id)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("admin API detail of %s with tenant B's admin key: %d", id, res.StatusCode)
		}
	}
	// Lists never show A's connection to B.
	for _, res := range []response{bAdmin.get("/connections"), bAdmin.get("/audit"), bAdmin.bearer(b.B.TokenKey, "/api/v1/connections"),
		bAdmin.bearer(b.B.AdmKey, "/api/v1/admin/connections")} {
		if strings.Contains(res.Body, a) || strings.Contains(res.Body, b.A.ConnectionName) {
			t.Errorf("%s shows tenant A's connection to tenant B", res.Request.URL.Path)
		}
	}
	// A's connection is exactly as it was.
	after, err := b.App.Store.Connection(ctx, b.A.TenantID, a)
	if err != nil || after.Status != before.Status || after.Version != before.Version {
		t.Fatalf("tenant A's connection changed: %+v -> %+v (%v)", before, after, err)
	}
	// And tenant A still works: the probe is not a denial of service.
	if res := b.client(t).bearer(b.A.APIKey, "/api/v1/connections/"+a+"/token"); res.StatusCode != http.StatusOK {
		t.Fatalf("tenant A's own token fetch: %d %.200s", res.StatusCode, res.Body)
	}
}

// Claim: a member sees only their projects' connections: another project's
// connection in their own tenant is a 404 too.
func TestMemberCannotReachAnotherProjectsConnection(t *testing.T) {
	b := start(t)
	ctx := context.Background()
	support, err := b.App.Store.CreateConnection(ctx, storeNewConn(b.A.TenantID, b.projectID(t, "Support")))
	if err != nil {
		t.Fatal(err)
	}
	member := b.client(t).signIn("member@demo.test", b.A.AdminPassword) // the demo member: Sales only
	for _, p := range []string{"/connections/" + support.ID, "/connections/" + support.ID + "/confirm/delete"} {
		if res := member.get(p); res.StatusCode != http.StatusNotFound {
			t.Errorf("member GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	if res := member.post("/connections/"+support.ID+"/test", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("member POST test: %d, want 404", res.StatusCode)
	}
	if res := member.get("/connections/" + b.A.ConnectionID); res.StatusCode != http.StatusOK {
		t.Errorf("member's own project's connection: %d", res.StatusCode)
	}
}
