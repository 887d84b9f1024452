package connections_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// A Tenant ID/Domain Microsoft does not know is a field error at the form:
// nothing is saved and the browser never leaves for Microsoft's dead end.
func TestUnknownTenantIsAFieldError(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	before := e.Sim.Count(mssim.EndpointDiscovery, "")
	f := codeForm(e, "nowhere", connections.AccountTenant, "nowhere.onmicrosoft.com")
	out, err := e.Service.Submit(context.Background(), a, f)
	if !errors.Is(err, connections.ErrInvalid) || out.RedirectURL != "" {
		t.Fatalf("submit: %v %+v", err, out)
	}
	if msg := f.Errors[connections.FieldMSTenant]; !strings.Contains(msg, "AADSTS90002") || !strings.Contains(msg, "nowhere.onmicrosoft.com") {
		t.Fatalf("tenant field error %q", msg)
	}
	if n := e.Sim.Count(mssim.EndpointDiscovery, "") - before; n != 1 {
		t.Fatalf("%d discovery requests, want 1", n)
	}
	if got, err := e.Store.CountConnectionsByStatus(context.Background(), store.ConnectionQuery{TenantID: e.Tenant.ID}); err != nil || len(got) != 0 {
		t.Fatalf("saved: %v %v", got, err)
	}
	// A tenant that exists, by domain or by ID, goes on to Microsoft.
	start(t, e, a, codeForm(e, "contoso", connections.AccountTenant, e.Demo.Contoso.Domain))
	start(t, e, a, codeForm(e, "contoso by id", connections.AccountTenant, e.Demo.Contoso.ID))
}

// A cancelled first sign-in says what it left (a Pending connection for
// another try, removed after an hour), and housekeeping keeps that word:
// it removes the abandoned row, never one whose sign-in is in progress or
// one that signed in.
func TestAbandonedSignInsAreRemoved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	cancelled, authURL := start(t, e, a, codeForm(e, "cancelled", connections.AccountCommon, ""))
	_, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{Cancel: true}))
	p := wantProblem(t, err, connections.ProblemCancelled)
	if !strings.Contains(p.Message, "stays Pending") || !strings.Contains(p.Message, "removed an hour after") || strings.Contains(p.Message, "Nothing was saved") {
		t.Fatalf("cancel message %q", p.Message)
	}
	inProgress, _ := start(t, e, a, codeForm(e, "at Microsoft now", connections.AccountCommon, ""))
	signedIn, authURL := start(t, e, a, codeForm(e, "signed in", connections.AccountCommon, ""))
	if _, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Alex.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}

	// An hour on (created_at is the database's clock, so the cut-off moves instead).
	later := time.Now().Add(connections.PendingTTL)
	n, err := e.Store.DeleteAbandonedConnections(ctx, later, e.Clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("removed %d (%v), want the cancelled one", n, err)
	}
	if _, err := e.Store.Connection(ctx, e.Tenant.ID, cancelled.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled connection: %v", err)
	}
	for _, id := range []string{inProgress.ID, signedIn.ID} {
		if _, err := e.Store.Connection(ctx, e.Tenant.ID, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// The sign-in in progress is abandoned once its flow expires.
	e.Clock.Advance(connections.FlowTTL + time.Minute)
	if n, err := e.Store.DeleteAbandonedConnections(ctx, later, e.Clock.Now()); err != nil || n != 1 {
		t.Fatalf("after the flow expired: removed %d (%v), want 1", n, err)
	}
	if c, err := e.Store.Connection(ctx, e.Tenant.ID, signedIn.ID); err != nil || c.Status != "active" {
		t.Fatalf("signed-in connection: %+v %v", c, err)
	}
}
