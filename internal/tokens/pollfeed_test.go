package tokens_test

import (
	"context"
	"testing"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// After its first poll (a sweep of the cache), a replica reads the change
// feed: a connection disabled or deleted elsewhere drops out of memory at
// the next poll, one never cached costs nothing, an unchanged one stays.
func TestChangesReachMemoryThroughTheFeed(t *testing.T) {
	e := newEnv(t)
	disabled := e.conn(t, tokenstest.Conn{Name: "to-disable"})
	deleted := e.conn(t, tokenstest.Conn{Name: "to-delete"})
	kept := e.conn(t, tokenstest.Conn{Name: "kept"})
	other := e.conn(t, tokenstest.Conn{Name: "not-cached"})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	for _, c := range []store.Connection{disabled, deleted, kept} {
		if _, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.PollOnce(ctx); err != nil { // the sweep; the feed starts here
		t.Fatal(err)
	}
	for _, c := range []store.Connection{disabled, other} {
		if _, err := e.st.UpdateConnection(ctx, e.tenant.ID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "disabled", Reason: "by an admin"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.DeleteConnection(ctx, e.tenant.ID, deleted.ID); err != nil {
		t.Fatal(err)
	}
	// Before the poll, memory still answers.
	if _, err := svc.Token(ctx, e.tenant.ID, disabled.ID, tokens.Request{}); err != nil {
		t.Fatalf("served from memory before the poll: %v", err)
	}
	if err := svc.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Token(ctx, e.tenant.ID, disabled.ID, tokens.Request{})
	wantCode(t, err, tokens.CodeDisabled)
	_, err = svc.Token(ctx, e.tenant.ID, deleted.ID, tokens.Request{})
	wantCode(t, err, tokens.CodeNotFound)
	loads := svc.Stats().Loads
	if _, err := svc.Token(ctx, e.tenant.ID, kept.ID, tokens.Request{}); err != nil || svc.Stats().Loads != loads {
		t.Fatalf("an unchanged connection was reloaded after the feed's poll: %v", err)
	}
}
