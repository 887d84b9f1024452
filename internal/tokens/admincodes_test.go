package tokens_test

import (
	"context"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// A Conditional Access block (53003) or a device-management requirement
// (530003) is no "sign in again": the connection is a configuration error
// whose reason says an administrator of the organization must act.
func TestConditionalAccessNeedsAnAdministrator(t *testing.T) {
	for _, code := range []int{53003, 530003} {
		e := newEnv(t)
		c := e.conn(t, tokenstest.Conn{Expired: true})
		e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Error: "invalid_grant", Code: code, Status: 400})
		svc := e.replica(t, tokens.Options{})
		_, err := svc.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
		te := wantCode(t, err, tokens.CodeConfig)
		if !strings.Contains(te.Detail, "administrator") || strings.Contains(te.Detail, "reconnect") {
			t.Fatalf("%d: detail %q", code, te.Detail)
		}
		stored, _ := e.stored(t, c.ID)
		if stored.Status != "config_error" || !strings.Contains(stored.StatusReason, "signing in again will not help") {
			t.Fatalf("%d: stored %s %q", code, stored.Status, stored.StatusReason)
		}
	}
}
