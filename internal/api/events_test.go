package api

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
	"github.com/brokerhq/broker/internal/webhooks"
)

func TestEventsFeed(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{})
	all, _ := e.key(t, e.tenant.ID)
	salesOnly, _ := e.key(t, e.tenant.ID, e.sales.ID)
	other, _ := e.key(t, e.other.ID)
	sales := e.conn(t, tokenstest.Conn{Name: "sales-box"})
	support := e.conn(t, tokenstest.Conn{Name: "support-box", ProjectID: e.support.ID, TenantID: e.tenant.ID})
	for _, c := range []store.Connection{sales, support} {
		if _, err := e.st.UpdateConnection(context.Background(), c.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{Status: &store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS50173", TraceID: "tr"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	// Page through everything two at a time.
	var seen []webhooks.Envelope
	after := "0"
	for range 50 {
		var page eventsPage
		get(t, s, all, "/api/v1/events?limit=2&after="+after, &page)
		if len(page.Events) == 0 {
			if page.NextAfter != after {
				t.Fatalf("an empty page moved the cursor: %s → %s", after, page.NextAfter)
			}
			break
		}
		seen = append(seen, page.Events...)
		after = page.NextAfter
	}
	count := map[string]int{}
	for i, ev := range seen {
		count[ev.Type]++
		if i > 0 && ev.Sequence <= seen[i-1].Sequence {
			t.Fatalf("out of order: %d after %d", ev.Sequence, seen[i-1].Sequence)
		}
		if ev.ID != "evt_"+strconv.FormatInt(ev.Sequence, 10) || ev.Version != 1 || ev.TenantID != e.tenant.ID {
			t.Fatalf("envelope %+v", ev)
		}
	}
	if count["connection.status_changed"] < 2 || count["api_key.created"] != 2 {
		t.Fatalf("feed of an all-projects key: %v", count)
	}

	// The type filter, and a key limited to Sales: only Sales' connection.
	var page eventsPage
	get(t, s, salesOnly, "/api/v1/events?type=connection.status_changed", &page)
	if len(page.Events) == 0 {
		t.Fatal("the Sales key sees no status change")
	}
	for _, ev := range page.Events {
		if ev.Type != "connection.status_changed" || !contains(string(ev.Data), sales.ID) || contains(string(ev.Data), support.ID) {
			t.Fatalf("Sales key got %s %s", ev.Type, ev.Data)
		}
	}
	// Another tenant's key sees none of it.
	get(t, s, other, "/api/v1/events", &page)
	for _, ev := range page.Events {
		if ev.TenantID != e.other.ID {
			t.Fatalf("another tenant's key saw %+v", ev)
		}
	}
	p := wantProblem(t, s, all, "/api/v1/events?type=connection.exploded", "invalid_request")
	if p.Field != "type" {
		t.Fatalf("problem field %q", p.Field)
	}
	wantProblem(t, s, all, "/api/v1/events?after=abc", "invalid_request")
	wantProblem(t, s, "", "/api/v1/events", "unauthorized")
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
