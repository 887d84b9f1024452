package tokens_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// Once warm, tokens come from memory alone: with its database pool closed,
// the replica still serves them.
func TestWarmPathNeedsNoDatabase(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	st := openStore(t, e.url)
	svc := tokens.New(st, e.ms.Provider(), tokens.Options{Now: e.ms.Sim.Now})
	defer svc.Close()
	ctx := context.Background()
	first, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for range 1000 {
		tok, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
		if err != nil || tok.AccessToken != first.AccessToken || tok.Refreshed {
			t.Fatalf("warm fetch: %v", err)
		}
	}
	if s := svc.Stats(); s.Loads != 1 || s.Upstream != 0 {
		t.Fatalf("stats %+v, want 1 load and no upstream request", s)
	}
	if first.Conn.Name != "mailbox" || first.Conn.ProjectName != "Sales" || first.Conn.AccountUser != e.ms.Demo.Adele.UPN ||
		first.Scope == "" || first.Conn.Status != "active" {
		t.Fatalf("token metadata %+v scope %q", first.Conn, first.Scope)
	}
}

// Another tenant's connection and one outside the caller's projects look
// exactly like a missing one, warm or cold.
func TestOtherTenantsAndProjectsAreNotFound(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	for range 2 { // cold, then with the connection in memory
		for name, call := range map[string]func() error{
			"other tenant": func() error {
				_, err := svc.Token(ctx, e.other.ID, c.ID, tokens.Request{})
				return err
			},
			"other project": func() error {
				_, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ProjectIDs: []string{e.second.ID}})
				return err
			},
			"missing": func() error {
				_, err := svc.Token(ctx, e.tenant.ID, "00000000-0000-4000-8000-000000000000", tokens.Request{})
				return err
			},
		} {
			if te := wantCode(t, call(), tokens.CodeNotFound); te.Detail != "No such connection." {
				t.Fatalf("%s: %+v", name, te)
			}
		}
		if _, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ProjectIDs: []string{e.second.ID, e.project.ID}}); err != nil {
			t.Fatal(err)
		}
	}
}

// A connection disabled or deleted through another replica stops being
// served here at this replica's next poll; until then memory answers.
func TestChangesElsewhereReachMemoryAtThePoll(t *testing.T) {
	e := newEnv(t)
	disabled := e.conn(t, tokenstest.Conn{Name: "to-disable"})
	deleted := e.conn(t, tokenstest.Conn{Name: "to-delete"})
	kept := e.conn(t, tokenstest.Conn{Name: "kept"})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	for _, c := range []store.Connection{disabled, deleted, kept} {
		if _, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.UpdateConnection(ctx, e.tenant.ID, disabled.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "disabled", Reason: "by an admin"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteConnection(ctx, e.tenant.ID, deleted.ID); err != nil {
		t.Fatal(err)
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
		t.Fatalf("an unchanged connection was reloaded after the poll: %v", err)
	}
	// Invalidate is the same, at once, on the replica that made the change.
	if _, err := e.st.UpdateConnection(ctx, e.tenant.ID, kept.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "disabled"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	svc.Invalidate(kept.ID)
	_, err = svc.Token(ctx, e.tenant.ID, kept.ID, tokens.Request{})
	wantCode(t, err, tokens.CodeDisabled)
}

// Tokens at rest are sealed; last use is written in batches.
func TestTokensAreSealedAtRestAndUseIsTouched(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	svc := e.replica(t, tokens.Options{})
	ctx := context.Background()
	tok, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	_, cr := e.stored(t, c.ID)
	raw, err := pgx.Connect(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(ctx)
	raw.Exec(ctx, "SELECT set_config('broker.all_tenants', 'on', false)")
	var at, rt []byte
	if err := raw.QueryRow(ctx, `SELECT access_token_enc, refresh_token_enc FROM connections WHERE id = $1`, c.ID).Scan(&at, &rt); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(at, []byte(tok.AccessToken)) || bytes.Contains(rt, []byte(cr.RefreshToken)) || len(at) == 0 {
		t.Fatal("a token is stored in plaintext")
	}
	if stored, _ := e.stored(t, c.ID); stored.LastUsedAt != nil {
		t.Fatal("last use written on the request path")
	}
	svc.TouchOnce(ctx)
	if stored, _ := e.stored(t, c.ID); stored.LastUsedAt == nil || stored.LastUsedAt.Sub(e.ms.Sim.Now()) > time.Second {
		t.Fatalf("last use %v", stored.LastUsedAt)
	}
}
