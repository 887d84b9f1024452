package adminweb_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

// With approval required, a member's connections serve no tokens until an
// admin approves them, whatever the member does meanwhile. Every status
// transition a member can cause is walked (a passing and a failing test, a
// reconnect, a test that brings a broken connection back, the member's own
// app refusing and then accepting its secret, the keep-alive worker, forced
// refreshes, the admin actions and admin API a member may not use); after
// each, the token API still answers connection_not_approved and the
// connection still owes its approval. Then an admin approves.
func TestMemberCannotGetAroundApproval(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	admin := s.Browser(t).SignIn(s.Admin.Email)
	admintest.WantRedirect(t, admin.Post("/settings/approval", url.Values{"require_approval": {"on"}}), "/connections")
	member := s.Browser(t).SignIn(s.Member.Email)
	ma := s.Actor(s.Member, "member")
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", false)

	code := s.SignInConnection(t, ma, s.Sales.ID, "Member inbox", s.Demo.Alex.UPN)
	f := &connections.Form{Name: "Member daemon", ProjectID: s.Sales.ID, AccountType: connections.AccountTenant,
		MSTenant: s.Demo.Contoso.ID, AuthType: connections.AuthClientCredentials, UserPrincipal: s.Demo.Alex.UPN,
		ClientID: s.Demo.DaemonApp.ClientID, ClientSecret: s.Demo.DaemonApp.Secret}
	out, err := s.Service.Submit(ctx, ma, f)
	if err != nil {
		t.Fatalf("client credentials: %v %v", err, f.Errors)
	}
	app := out.Connection

	steps := 0
	held := func(step string, c store.Connection, wantStatus string) store.Connection {
		t.Helper()
		steps++
		got, _, err := s.Conn(c)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != wantStatus || !got.Unapproved() || got.ApprovedBy != "" {
			t.Fatalf("%s: %s is %q (unapproved %v, approved by %q), want %q and unapproved",
				step, got.Name, got.Status, got.Unapproved(), got.ApprovedBy, wantStatus)
		}
		for _, q := range []string{"", "?force_refresh=true", "?min_ttl=0"} {
			res := s.API(t, http.MethodGet, tokenPath(c.ID)+q, key, "")
			if res.StatusCode != http.StatusConflict || problemCode(t, res) != "connection_not_approved" {
				t.Fatalf("%s: token%s for %s: %d %s", step, q, got.Name, res.StatusCode, res.Body)
			}
		}
		return got
	}
	test := func(c store.Connection) {
		t.Helper()
		admintest.WantRedirect(t, member.Post("/connections/"+c.ID+"/test", nil), "/connections/"+c.ID)
	}
	reconnect := func(c store.Connection) {
		t.Helper()
		u, err := s.Service.Reconnect(ctx, ma, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Service.Complete(ctx, ma, true, s.SignIn(t, u, s.Demo.Alex.UPN, mssim.SignInOptions{})); err != nil {
			t.Fatal(err)
		}
	}

	held("signed in", code, "awaiting_approval")
	held("client credentials created", app, "awaiting_approval")
	test(code)
	held("passing test while awaiting", code, "awaiting_approval")
	test(app)
	held("passing test of the app", app, "awaiting_approval")

	// The grant fails (the user signs out everywhere), the member tests and reconnects.
	if err := s.Sim.RevokeUser(s.Demo.Alex.UPN); err != nil {
		t.Fatal(err)
	}
	test(code)
	held("failing test", code, "needs_reauth")
	reconnect(code)
	held("reconnect after a failure", code, "awaiting_approval")
	reconnect(code)
	held("reconnect while awaiting", code, "awaiting_approval")

	// One refusal marks it broken; the next test passes.
	s.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, User: s.Demo.Alex.UPN, Error: "invalid_grant", Code: 70008, Times: 1})
	test(code)
	held("refused test", code, "needs_reauth")
	test(code)
	held("passing test of a broken connection", code, "awaiting_approval")

	// The member controls the app: its secret is refused, then accepted again.
	s.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, ClientID: s.Demo.DaemonApp.ClientID, Error: "invalid_client",
		Code: 7000215, Times: 1})
	test(app)
	held("app secret refused", app, "config_error")
	test(app)
	held("app secret accepted again", app, "awaiting_approval")

	// The keep-alive worker refreshes due connections; these are not its to refresh.
	before := held("before keep-alive", code, "awaiting_approval")
	s.Clock.Advance(30 * 24 * time.Hour)
	if _, err := s.Tokens.KeepAlive(tokens.KeepAliveOptions{}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	after := held("keep-alive", code, "awaiting_approval")
	if !after.LastRefreshAt.Equal(*before.LastRefreshAt) {
		t.Fatalf("keep-alive refreshed an unapproved connection: %v → %v", before.LastRefreshAt, after.LastRefreshAt)
	}
	held("keep-alive (app)", app, "awaiting_approval")
	// A month on, both must sign in again.
	member, admin = s.Browser(t).SignIn(s.Member.Email), s.Browser(t).SignIn(s.Admin.Email)

	// What a member may not do: approve, enable, or act through the admin API.
	for _, c := range []store.Connection{code, app} {
		for _, act := range []string{"approve", "enable"} {
			if res := member.Post("/connections/"+c.ID+"/"+act, nil); res.StatusCode != http.StatusForbidden {
				t.Fatalf("member %s: %d → %s", act, res.StatusCode, res.Header.Get("Location"))
			}
			if res := s.API(t, http.MethodPost, "/api/v1/admin/connections/"+c.ID+"/"+act, key, "{}"); res.StatusCode < 400 {
				t.Fatalf("admin API %s with a token key: %d", act, res.StatusCode)
			}
		}
		held("refused member actions", c, "awaiting_approval")
	}

	// Even a write that says active (as any path might) leaves it waiting.
	s.SetStatus(t, code, store.StatusEvent{Status: "active", Reason: "a refresh worked"})
	held("a direct write of active", code, "awaiting_approval")
	db := conntest.Raw(t, s.DBURL)
	if _, err := db.Exec(ctx, `UPDATE connections SET status = 'active' WHERE id = $1`, code.ID); err == nil {
		t.Fatal("Postgres let an unapproved connection become active")
	}

	// An admin's approval, and only that, lets tokens through.
	admintest.WantRedirect(t, admin.Post("/connections/"+code.ID+"/approve", nil), "/connections/"+code.ID)
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(code.ID), key, ""), http.StatusOK)
	got, _, _ := s.Conn(code)
	if got.Unapproved() || got.ApprovedBy != s.Admin.Email || got.ApprovedAt == nil || got.Status != "active" {
		t.Fatalf("approved: %q by %q at %v", got.Status, got.ApprovedBy, got.ApprovedAt)
	}
	if ev := auditActions(t, s, s.Tenant.ID, code.ID); ev[0].Action != "connection.approved" || ev[0].ActorLabel != s.Admin.Email {
		t.Fatalf("audit: %+v", ev[0])
	}
	// Approval lasts: a failure and a reconnect bring it back to active.
	if err := s.Sim.RevokeUser(s.Demo.Alex.UPN); err != nil {
		t.Fatal(err)
	}
	test(code)
	reconnect(code)
	if got, _, _ := s.Conn(code); got.Status != "active" {
		t.Fatalf("approved connection after reconnect: %q", got.Status)
	}
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(code.ID), key, ""), http.StatusOK)

	// An app approved while broken keeps its status until it works again.
	s.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, ClientID: s.Demo.DaemonApp.ClientID, Error: "invalid_client",
		Code: 7000215, Times: 1})
	test(app)
	held("app broken before approval", app, "config_error")
	admintest.WantRedirect(t, admin.Post("/connections/"+app.ID+"/approve", nil), "/connections/"+app.ID)
	if got, _, _ := s.Conn(app); got.Unapproved() || got.Status != "config_error" {
		t.Fatalf("approved while broken: %q", got.Status)
	}
	test(app)
	if got, _, _ := s.Conn(app); got.Status != "active" {
		t.Fatalf("approved app after a passing test: %q", got.Status)
	}
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(app.ID), key, ""), http.StatusOK)
	t.Logf("%d held steps, each with 3 token requests refused", steps)
}
