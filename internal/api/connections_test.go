package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

func TestListAndGetConnections(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{})
	all, _ := e.key(t, e.tenant.ID)
	supportOnly, _ := e.key(t, e.tenant.ID, e.support.ID)
	var sales []store.Connection
	for i := range 5 {
		sales = append(sales, e.conn(t, tokenstest.Conn{Name: fmt.Sprintf("sales-%d", i), Status: "pending"}))
	}
	support := e.conn(t, tokenstest.Conn{TenantID: e.tenant.ID, ProjectID: e.support.ID, Name: "helpdesk",
		ClientSecret: "app-secret-PLAINTEXT"})
	e.conn(t, tokenstest.Conn{TenantID: e.other.ID, ProjectID: e.otherProject.ID, Name: "theirs", Status: "pending"})

	// Paged, newest first, every connection of the tenant once.
	var ids []string
	next := ""
	for page := 0; ; page++ {
		var l connectionList
		get(t, s, all, "/api/v1/connections?limit=2&after="+next, &l)
		for _, c := range l.Connections {
			ids = append(ids, c.ID)
		}
		if l.NextAfter == "" {
			break
		}
		next = l.NextAfter
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(ids) != 6 || ids[0] != support.ID || ids[5] != sales[0].ID {
		t.Fatalf("listed %v", ids)
	}
	for q, want := range map[string]int{"status=pending": 5, "status=active": 1, "project=Sales": 5, "project=support": 1,
		"project=" + e.support.ID: 1, "project=Nowhere": 0, "project=" + e.otherProject.ID: 0, "project=Sales&status=active": 0} {
		var l connectionList
		get(t, s, all, "/api/v1/connections?"+q, &l)
		if len(l.Connections) != want {
			t.Errorf("%s: %d connections, want %d", q, len(l.Connections), want)
		}
	}
	// A project-scoped key sees its project only, whatever it asks for.
	for q, want := range map[string]int{"": 1, "project=Sales": 0, "project=Support": 1} {
		var l connectionList
		get(t, s, supportOnly, "/api/v1/connections?"+q, &l)
		if len(l.Connections) != want {
			t.Errorf("scoped key, %q: %d connections, want %d", q, len(l.Connections), want)
		}
	}
	for _, q := range []string{"status=sleeping", "limit=0", "limit=501", "limit=x", "after=nope"} {
		wantProblem(t, s, all, "/api/v1/connections?"+url.PathEscape(q), "invalid_request")
	}

	// One connection's metadata: no secret, no token.
	var c connectionJSON
	_, body := get(t, s, all, "/api/v1/connections/"+support.ID, &c)
	if c.ID != support.ID || c.Project != "Support" || c.AuthType != "client_credentials" || c.Account.User != e.ms.Demo.Adele.UPN ||
		c.ClientID != e.ms.Demo.DaemonApp.ClientID {
		t.Fatalf("connection %+v", c)
	}
	_, cr, _ := e.st.ConnectionWithCredentials(context.Background(), e.tenant.ID, support.ID)
	if strings.Contains(string(body), "app-secret-PLAINTEXT") || cr.ClientSecret != "app-secret-PLAINTEXT" || strings.Contains(string(body), "secret\"") {
		t.Fatalf("metadata carries a secret: %s", body)
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	e := newEnv(t)
	s := e.server(t, apikeys.Options{})
	resp, body := get(t, s, "", "/api/v1/openapi.json", nil)
	if resp.StatusCode != 200 || string(body) != string(OpenAPI()) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
}
