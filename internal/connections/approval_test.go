package connections_test

import (
	"context"
	"testing"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// In a tenant whose connections need approval, a working sign-in or client
// credentials check leaves the connection awaiting_approval, not active.
func TestApprovalRequiredHoldsNewConnections(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.Store.SetRequireApproval(ctx, e.Tenant.ID, true); err != nil {
		t.Fatal(err)
	}
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "needs approval", connections.AccountCommon, ""))
	if _, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}
	if got, cr := conn(t, e, c.ID); got.Status != "awaiting_approval" || cr.RefreshToken == "" {
		t.Fatalf("signed-in connection is %q (refresh token kept: %v)", got.Status, cr.RefreshToken != "")
	}
	out, err := e.Service.Submit(ctx, a, ccForm(e))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := conn(t, e, out.Connection.ID); got.Status != "awaiting_approval" {
		t.Fatalf("client credentials connection is %q", got.Status)
	}
}

// A reconnect renews credentials but does not undo an admin's Disable.
func TestReconnectKeepsDisabled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "disabled one", connections.AccountCommon, ""))
	if _, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}
	_, first := conn(t, e, c.ID)
	if _, err := e.Store.UpdateConnection(ctx, e.Tenant.ID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "disabled", Reason: "paused by an admin"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	m := e.Actor(e.Member, "member")
	_, authURL = retry(t, e, m, c.ID)
	if _, err := e.Service.Complete(ctx, m, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}
	got, cr := conn(t, e, c.ID)
	if got.Status != "disabled" || got.StatusReason != "paused by an admin" {
		t.Fatalf("reconnect changed a disabled connection to %q (%q)", got.Status, got.StatusReason)
	}
	if cr.RefreshToken == first.RefreshToken {
		t.Fatal("reconnect did not renew the credentials")
	}
}
