package clienttest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	brokerclient "github.com/brokerhq/broker/client"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// A connect link made, read and revoked with the client, against the real
// broker: the URL only in the creation's answer, every field as sent, a
// refused field and an unknown ID as *Error with the broker's codes.
func TestConnectSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := map[string]string{"crm_account": "42", "plan": "team"}
	cs, err := e.client.CreateConnectSession(ctx, brokerclient.ConnectSessionRequest{Project: e.project.Name,
		EndUser:        brokerclient.EndUser{ID: "u-dana", Email: "dana@customer.test", DisplayName: "Dana Scully"},
		ConnectionName: "Dana's inbox", AllowedAccountTypes: []string{"organizations"}, ExpiresIn: 600, Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	now := e.ms.Sim.Now()
	if cs.ID == "" || cs.Status != "pending" || !strings.Contains(cs.ConnectURL, "/connect/") || cs.ProjectID != e.project.ID ||
		cs.EndUser != (brokerclient.EndUser{ID: "u-dana", Email: "dana@customer.test", DisplayName: "Dana Scully"}) ||
		cs.ConnectionName != "Dana's inbox" || len(cs.AllowedAccountTypes) != 1 || cs.AllowedAccountTypes[0] != "organizations" ||
		cs.Metadata["crm_account"] != "42" || cs.Metadata["plan"] != "team" || cs.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", cs)
	}
	if d := cs.ExpiresAt.Sub(now); d < 590*time.Second || d > 610*time.Second {
		t.Fatalf("expires in %v, want 600s", d)
	}

	got, err := e.client.GetConnectSession(ctx, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ConnectURL != "" {
		t.Fatal("GetConnectSession returned the connect URL; the broker keeps only its hash")
	}
	if got.ID != cs.ID || got.Status != "pending" || got.EndUser != cs.EndUser || got.Metadata["plan"] != "team" || !got.ExpiresAt.Equal(cs.ExpiresAt) {
		t.Fatalf("read back: %+v", got)
	}

	for range 2 { // revoking twice is not an error
		r, err := e.client.RevokeConnectSession(ctx, cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != cs.ID || r.Status != "revoked" || r.ConnectURL != "" {
			t.Fatalf("revoked: %+v", r)
		}
	}
	if got, _ := e.client.GetConnectSession(ctx, cs.ID); got.Status != "revoked" {
		t.Fatalf("after revoking: %q", got.Status)
	}

	var be *brokerclient.Error
	_, err = e.client.GetConnectSession(ctx, "00000000-0000-4000-8000-000000000000")
	if !errors.As(err, &be) || be.Status != 404 || be.Code != "connect_session_not_found" {
		t.Fatalf("unknown session: %v", err)
	}
	_, err = e.client.RevokeConnectSession(ctx, "00000000-0000-4000-8000-000000000000")
	if !errors.As(err, &be) || be.Status != 404 || be.Code != "connect_session_not_found" {
		t.Fatalf("revoke unknown session: %v", err)
	}
	_, err = e.client.CreateConnectSession(ctx, brokerclient.ConnectSessionRequest{Project: e.project.Name})
	if !errors.As(err, &be) || be.Status != 422 || be.Code != "invalid_input" || !strings.Contains(be.Detail, "end_user") {
		t.Fatalf("no end user: %v", err)
	}
	_, err = e.client.CreateConnectSession(ctx, brokerclient.ConnectSessionRequest{Project: "Nowhere", EndUser: brokerclient.EndUser{ID: "u-1"}})
	if !errors.As(err, &be) || be.Status != 403 || be.Code != "project_not_allowed" {
		t.Fatalf("unknown project: %v", err)
	}
}

// A connection a connect link made carries its end user and metadata in
// the list (and the list filters by end user) and in the token answer.
func TestConnectionEndUserAndMetadata(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	plain := e.conn(t, tokenstest.Conn{Name: "shared"})
	dana := e.endUserConn(t, store.EndUser{ID: "u-dana", Email: "dana@customer.test", DisplayName: "Dana Scully"},
		map[string]string{"crm_account": "42"})

	seen := map[string]brokerclient.Connection{}
	for c, err := range e.client.Connections(ctx, brokerclient.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[c.ID] = c
	}
	d, p := seen[dana.ID], seen[plain.ID]
	if d.EndUser == nil || *d.EndUser != (brokerclient.EndUser{ID: "u-dana", Email: "dana@customer.test", DisplayName: "Dana Scully"}) ||
		d.Metadata["crm_account"] != "42" {
		t.Fatalf("Dana's connection in the list: end user %+v, metadata %v", d.EndUser, d.Metadata)
	}
	if p.ID == "" || p.EndUser != nil || len(p.Metadata) != 0 {
		t.Fatalf("the plain connection: %+v", p)
	}
	var only []string
	for c, err := range e.client.Connections(ctx, brokerclient.Filter{EndUserID: "u-dana"}) {
		if err != nil {
			t.Fatal(err)
		}
		only = append(only, c.ID)
	}
	if len(only) != 1 || only[0] != dana.ID {
		t.Fatalf("end_user_id=u-dana: %v, want only %s", only, dana.ID)
	}

	tok, err := e.client.TokenSource(dana.ID).Token()
	if err != nil {
		t.Fatal(err)
	}
	ref := brokerclient.TokenConnection(tok)
	if ref == nil || ref.ID != dana.ID || ref.EndUser == nil || ref.EndUser.ID != "u-dana" || ref.EndUser.DisplayName != "Dana Scully" ||
		ref.Metadata["crm_account"] != "42" || ref.Project != e.project.Name || ref.Account.User != e.ms.Demo.Adele.UPN {
		t.Fatalf("token's connection: %+v", ref)
	}
	tok, err = e.client.TokenSource(plain.ID).Token()
	if err != nil {
		t.Fatal(err)
	}
	if ref := brokerclient.TokenConnection(tok); ref == nil || ref.ID != plain.ID || ref.EndUser != nil {
		t.Fatalf("plain token's connection: %+v", ref)
	}
}

// endUserConn stores a connection as a finished connect link leaves it:
// signed in at the (simulated) Microsoft, with its end user and metadata.
func (e *env) endUserConn(t *testing.T, eu store.EndUser, md map[string]string) store.Connection {
	t.Helper()
	ctx := context.Background()
	tok, err := e.ms.SignIn(ctx, "common", e.ms.Demo.Adele.UPN)
	if err != nil {
		t.Fatal(err)
	}
	n := store.NewConnection{TenantID: e.tenant.ID, ProjectID: e.project.ID, Name: "Dana's inbox", Status: "active",
		AccountType: "common", AuthType: "authorization_code", RequestedScopes: mssim.OutlookScopes, EndUser: eu, Metadata: md}
	c, err := e.app.Store.CreateConnection(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	c, err = e.app.Store.UpdateConnection(ctx, e.tenant.ID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{RefreshToken: &tok.RefreshToken, AccessToken: &tok.AccessToken,
			AccessTokenExpiresAt: &tok.ExpiresAt, GrantedScopes: oauth.GrantedScopes(n.RequestedScopes, tok.Scopes, true),
			Account: &store.Account{Username: e.ms.Demo.Adele.UPN}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
