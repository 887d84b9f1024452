package tokens_test

import (
	"context"
	"slices"
	"testing"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// A refresh records the grant in the same form the sign-in did: short Graph
// names as requested, no OpenID scopes, offline_access while a refresh token
// is held. (Storing Microsoft's fully qualified answer made every permission
// look "not granted" on the connection page after the first refresh.)
func TestRefreshKeepsTheGrantsForm(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	before, _ := e.stored(t, c.ID)
	if !slices.Equal(before.GrantedScopes, mssim.OutlookScopes) {
		t.Fatalf("after sign-in granted %v, want %v", before.GrantedScopes, mssim.OutlookScopes)
	}
	tok, err := e.replica(t, tokens.Options{}).Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
	if err != nil || !tok.Refreshed {
		t.Fatalf("token: %+v %v", tok, err)
	}
	after, _ := e.stored(t, c.ID)
	if !slices.Equal(after.GrantedScopes, before.GrantedScopes) {
		t.Fatalf("after refresh granted %v, want %v", after.GrantedScopes, before.GrantedScopes)
	}
}
