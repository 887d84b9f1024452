package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
)

const connectReturnOrigin = "https://app.example.test"

// connectServer is the API with connect links on, the tenant allowing
// connectReturnOrigin as a return origin.
func (e *env) connectServer(t *testing.T, limit *apikeys.PerKey) *server {
	t.Helper()
	s := e.server(t, apikeys.Options{})
	s.h.Connect = connect.New(e.st, nil, "https://broker.example.test/", slog.New(slog.DiscardHandler), e.ms.Sim.Now)
	s.h.ConnectLimit = limit
	if err := e.st.PutConnectSettings(context.Background(), store.ConnectSettings{TenantID: e.tenant.ID,
		AllowedReturnOrigins: []string{connectReturnOrigin}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func send(t *testing.T, s *server, method, key, path, body string, out any) (*http.Response, problem.Problem) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var p problem.Problem
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("%s %s: %d, not problem+json: %s", method, path, resp.StatusCode, raw)
		}
	} else if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp, p
}

func TestConnectSessionCreateGetRevoke(t *testing.T) {
	e := newEnv(t)
	s := e.connectServer(t, nil)
	key, keyRow := e.key(t, e.tenant.ID)
	var cs connectSessionJSON
	resp, p := send(t, s, http.MethodPost, key, "/api/v1/connect-sessions", `{"project":"Sales",
		"end_user":{"id":"u-1","email":"dana@customer.test","display_name":"Dana"},
		"return_url":"https://app.example.test/outlook/done?x=1","metadata":{"plan":"pro"}}`, &cs)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %+v", resp.StatusCode, p)
	}
	token, ok := strings.CutPrefix(cs.ConnectURL, "https://broker.example.test/connect/")
	if !ok || len(token) < 40 || cs.Status != "pending" || cs.ProjectID != e.sales.ID || cs.EndUser.ID != "u-1" ||
		cs.Metadata["plan"] != "pro" || resp.Header.Get("Location") != "/api/v1/connect-sessions/"+cs.ID {
		t.Fatalf("created %+v (Location %q)", cs, resp.Header.Get("Location"))
	}
	// Default life: 30 minutes.
	if got := cs.ExpiresAt.Sub(e.ms.Sim.Now()); got < 29*time.Minute || got > 30*time.Minute {
		t.Fatalf("expires in %v, want 30m", got)
	}
	// Only the token's hash is kept, and it finds the session.
	row, err := e.st.ConnectSessionByTokenHash(context.Background(), connect.TokenHash(token))
	if err != nil || row.ID != cs.ID || bytes.Contains(row.TokenHash, []byte(token)) {
		t.Fatalf("stored %+v, %v", row, err)
	}
	var got connectSessionJSON
	send(t, s, http.MethodGet, key, "/api/v1/connect-sessions/"+cs.ID, "", &got)
	if got.ID != cs.ID || got.Status != "pending" || got.ConnectURL != "" {
		t.Fatalf("get %+v", got)
	}
	var revoked connectSessionJSON
	if resp, p := send(t, s, http.MethodDelete, key, "/api/v1/connect-sessions/"+cs.ID, "", &revoked); resp.StatusCode != 200 ||
		revoked.Status != "revoked" {
		t.Fatalf("revoke: %d %+v %+v", resp.StatusCode, p, revoked)
	}
	send(t, s, http.MethodGet, key, "/api/v1/connect-sessions/"+cs.ID, "", &got)
	if got.Status != "revoked" || got.FinishedAt == nil {
		t.Fatalf("after revoke %+v", got)
	}
	// The audit log names the key and the end user.
	events, err := e.st.ListAudit(context.Background(), e.tenant.ID, store.AuditFilter{Action: "connect_session.created"})
	if err != nil || len(events) != 1 || events[0].ActorType != "api_key" || events[0].ActorID != keyRow.ID ||
		events[0].Details["end_user_id"] != "u-1" {
		t.Fatalf("audit %+v, %v", events, err)
	}
	// Another tenant's key does not see it.
	otherKey, _ := e.key(t, e.other.ID)
	if resp, p := send(t, s, http.MethodGet, otherKey, "/api/v1/connect-sessions/"+cs.ID, "", nil); resp.StatusCode != 404 ||
		p.Code != "connect_session_not_found" {
		t.Fatalf("other tenant: %d %+v", resp.StatusCode, p)
	}
}

// A key scoped to one project can neither create sessions for another nor
// read their sessions.
func TestConnectSessionProjectScope(t *testing.T) {
	e := newEnv(t)
	s := e.connectServer(t, nil)
	salesKey, _ := e.key(t, e.tenant.ID, e.sales.ID)
	for _, project := range []string{"Support", e.support.ID, e.otherProject.ID, "Nowhere"} {
		resp, p := send(t, s, http.MethodPost, salesKey, "/api/v1/connect-sessions",
			`{"project":"`+project+`","end_user":{"id":"u-1"}}`, nil)
		if resp.StatusCode != http.StatusForbidden || p.Code != "project_not_allowed" || p.Field != "project" {
			t.Fatalf("project %s: %d %+v", project, resp.StatusCode, p)
		}
	}
	allKey, _ := e.key(t, e.tenant.ID)
	var cs connectSessionJSON
	if resp, p := send(t, s, http.MethodPost, allKey, "/api/v1/connect-sessions", `{"project":"Support","end_user":{"id":"u-1"}}`, &cs); resp.StatusCode != 201 {
		t.Fatalf("all-projects key: %d %+v", resp.StatusCode, p)
	}
	if resp, p := send(t, s, http.MethodGet, salesKey, "/api/v1/connect-sessions/"+cs.ID, "", nil); resp.StatusCode != 404 ||
		p.Code != "connect_session_not_found" {
		t.Fatalf("sales key reads a Support session: %d %+v", resp.StatusCode, p)
	}
	if resp, _ := send(t, s, http.MethodDelete, salesKey, "/api/v1/connect-sessions/"+cs.ID, "", nil); resp.StatusCode != 404 {
		t.Fatalf("sales key revokes a Support session: %d", resp.StatusCode)
	}
}

// A token-only key may send a reconnect link for an end user's own
// connection only; an admin key for any connection of the project.
func TestConnectSessionReconnectOnlyOwnEndUser(t *testing.T) {
	e := newEnv(t)
	s := e.connectServer(t, nil)
	ctx := context.Background()
	conn, err := e.st.CreateConnection(ctx, store.NewConnection{TenantID: e.tenant.ID, ProjectID: e.sales.ID, Name: "dana's",
		AccountType: "common", AuthType: "authorization_code", Status: "needs_reauth", EndUser: store.EndUser{ID: "u-dana"}})
	if err != nil {
		t.Fatal(err)
	}
	tokenKey, _ := e.key(t, e.tenant.ID)
	body := func(endUser string) string {
		return `{"project":"Sales","end_user":{"id":"` + endUser + `"},"reconnect_connection_id":"` + conn.ID + `"}`
	}
	resp, p := send(t, s, http.MethodPost, tokenKey, "/api/v1/connect-sessions", body("u-mallory"), nil)
	if resp.StatusCode != 422 || p.Code != "invalid_input" || p.Field != "reconnect_connection_id" {
		t.Fatalf("token key, other end user: %d %+v", resp.StatusCode, p)
	}
	var cs connectSessionJSON
	if resp, p := send(t, s, http.MethodPost, tokenKey, "/api/v1/connect-sessions", body("u-dana"), &cs); resp.StatusCode != 201 ||
		cs.ReconnectConnectionID != conn.ID {
		t.Fatalf("token key, own end user: %d %+v %+v", resp.StatusCode, p, cs)
	}
	adminKey, _, err := apikeys.Create(ctx, e.st, apikeys.NewKey{TenantID: e.tenant.ID, Name: "admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp, p := send(t, s, http.MethodPost, adminKey, "/api/v1/connect-sessions", body("u-support-desk"), nil); resp.StatusCode != 201 {
		t.Fatalf("admin key: %d %+v", resp.StatusCode, p)
	}
	// Not in the session's project: refused even for an admin key.
	if resp, p := send(t, s, http.MethodPost, adminKey, "/api/v1/connect-sessions",
		`{"project":"Support","end_user":{"id":"u-dana"},"reconnect_connection_id":"`+conn.ID+`"}`, nil); resp.StatusCode != 422 ||
		p.Field != "reconnect_connection_id" {
		t.Fatalf("admin key, other project: %d %+v", resp.StatusCode, p)
	}
}

// Every field is checked, the refusal names it, and nothing is stored.
func TestConnectSessionFieldValidation(t *testing.T) {
	e := newEnv(t)
	s := e.connectServer(t, nil)
	key, _ := e.key(t, e.tenant.ID)
	long := strings.Repeat("x", 201)
	many := `{` + strings.TrimSuffix(strings.Repeat(`"k`+`":"v",`, 1), ",")
	for i := range 21 {
		many += `,"k` + string(rune('a'+i)) + `":"v"`
	}
	many += `}`
	cases := []struct{ name, body, field string }{
		{"no project", `{"end_user":{"id":"u"}}`, "project"},
		{"no end user", `{"project":"Sales"}`, "end_user"},
		{"empty end user id", `{"project":"Sales","end_user":{"id":" "}}`, "end_user.id"},
		{"long end user id", `{"project":"Sales","end_user":{"id":"` + long + `"}}`, "end_user.id"},
		{"control in end user id", `{"project":"Sales","end_user":{"id":"a\u0000b"}}`, "end_user.id"},
		{"bad email", `{"project":"Sales","end_user":{"id":"u","email":"not an address"}}`, "end_user.email"},
		{"long display name", `{"project":"Sales","end_user":{"id":"u","display_name":"` + long + `"}}`, "end_user.display_name"},
		{"end user not an object", `{"project":"Sales","end_user":"u"}`, "end_user"},
		{"long connection name", `{"project":"Sales","end_user":{"id":"u"},"connection_name":"` + long + `"}`, "connection_name"},
		{"account type", `{"project":"Sales","end_user":{"id":"u"},"allowed_account_types":["work"]}`, "allowed_account_types"},
		{"auth type", `{"project":"Sales","end_user":{"id":"u"},"allowed_auth_types":["password"]}`, "allowed_auth_types"},
		{"cc without tenant", `{"project":"Sales","end_user":{"id":"u"},"allowed_auth_types":["client_credentials"],"allowed_account_types":["common"]}`, "allowed_account_types"},
		{"scope", `{"project":"Sales","end_user":{"id":"u"},"scopes":["Directory.ReadWrite.All"]}`, "scopes"},
		{"reconnect not an ID", `{"project":"Sales","end_user":{"id":"u"},"reconnect_connection_id":"abc"}`, "reconnect_connection_id"},
		{"reconnect unknown", `{"project":"Sales","end_user":{"id":"u"},"reconnect_connection_id":"00000000-0000-4000-8000-000000000000"}`, "reconnect_connection_id"},
		{"relative return_url", `{"project":"Sales","end_user":{"id":"u"},"return_url":"/done"}`, "return_url"},
		{"return_url elsewhere", `{"project":"Sales","end_user":{"id":"u"},"return_url":"https://evil.example.test/done"}`, "return_url"},
		{"return_url other port", `{"project":"Sales","end_user":{"id":"u"},"return_url":"https://app.example.test:8443/done"}`, "return_url"},
		{"return_url other scheme", `{"project":"Sales","end_user":{"id":"u"},"return_url":"http://app.example.test/done"}`, "return_url"},
		{"return_url look-alike host", `{"project":"Sales","end_user":{"id":"u"},"return_url":"https://app.example.test.evil.test/done"}`, "return_url"},
		{"return_url javascript", `{"project":"Sales","end_user":{"id":"u"},"return_url":"javascript:alert(1)"}`, "return_url"},
		{"expires_in too short", `{"project":"Sales","end_user":{"id":"u"},"expires_in":0}`, "expires_in"},
		{"expires_in too long", `{"project":"Sales","end_user":{"id":"u"},"expires_in":86401}`, "expires_in"},
		{"expires_in not a number", `{"project":"Sales","end_user":{"id":"u"},"expires_in":"1h"}`, "expires_in"},
		{"too much metadata", `{"project":"Sales","end_user":{"id":"u"},"metadata":` + many + `}`, "metadata"},
		{"long metadata value", `{"project":"Sales","end_user":{"id":"u"},"metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, "metadata"},
		{"metadata not strings", `{"project":"Sales","end_user":{"id":"u"},"metadata":{"k":1}}`, "metadata"},
		{"unknown field", `{"project":"Sales","end_user":{"id":"u"},"redirect_uri":"x"}`, "redirect_uri"},
		{"not JSON", `project=Sales`, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, p := send(t, s, http.MethodPost, key, "/api/v1/connect-sessions", c.body, nil)
			if resp.StatusCode != 422 || p.Code != "invalid_input" || p.Field != c.field || p.Detail == "" {
				t.Fatalf("%d %+v, want 422 invalid_input naming %s", resp.StatusCode, p, c.field)
			}
		})
	}
	events, err := e.st.ListAudit(context.Background(), e.tenant.ID, store.AuditFilter{Action: "connect_session.created"})
	if err != nil || len(events) != 0 {
		t.Fatalf("refused requests created %d sessions (%v)", len(events), err)
	}
	// The limits themselves pass.
	var cs connectSessionJSON
	resp, p := send(t, s, http.MethodPost, key, "/api/v1/connect-sessions", `{"project":"Sales","end_user":{"id":"`+long[:200]+`"},
		"expires_in":86400,"allowed_auth_types":["client_credentials"],"allowed_account_types":["tenant"],
		"scopes":["mail.read","Mail.Send"],"return_url":"https://APP.example.test/x"}`, &cs)
	if resp.StatusCode != 201 || cs.Scopes[0] != "Mail.Read" || cs.ExpiresAt.Sub(e.ms.Sim.Now()) < 23*time.Hour {
		t.Fatalf("at the limits: %d %+v %+v", resp.StatusCode, p, cs)
	}
}

func TestConnectSessionRateLimitPerKey(t *testing.T) {
	e := newEnv(t)
	s := e.connectServer(t, apikeys.NewPerKey(0.001, 2))
	key, _ := e.key(t, e.tenant.ID)
	other, _ := e.key(t, e.tenant.ID)
	body := `{"project":"Sales","end_user":{"id":"u"}}`
	for i := range 2 {
		if resp, p := send(t, s, http.MethodPost, key, "/api/v1/connect-sessions", body, nil); resp.StatusCode != 201 {
			t.Fatalf("create %d: %d %+v", i, resp.StatusCode, p)
		}
	}
	resp, p := send(t, s, http.MethodPost, key, "/api/v1/connect-sessions", body, nil)
	if resp.StatusCode != 429 || p.Code != "rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third: %d %+v", resp.StatusCode, p)
	}
	// Per key: another key still may; and the token endpoint is not affected.
	if resp, p := send(t, s, http.MethodPost, other, "/api/v1/connect-sessions", body, nil); resp.StatusCode != 201 {
		t.Fatalf("other key: %d %+v", resp.StatusCode, p)
	}
	if resp, _ := send(t, s, http.MethodGet, key, "/api/v1/connections", "", nil); resp.StatusCode != 200 {
		t.Fatalf("list after the limit: %d", resp.StatusCode)
	}
}

// Connections carry their end user and metadata in the API, and the list
// filters by end user.
func TestConnectionsByEndUser(t *testing.T) {
	e := newEnv(t)
	s := e.connectServer(t, nil)
	ctx := context.Background()
	for i, u := range []string{"u-1", "u-2", ""} {
		if _, err := e.st.CreateConnection(ctx, store.NewConnection{TenantID: e.tenant.ID, ProjectID: e.sales.ID,
			Name: "box " + string(rune('a'+i)), AccountType: "common", AuthType: "authorization_code",
			EndUser: store.EndUser{ID: u, Email: u + "@customer.test"}, Metadata: map[string]string{"n": u}}); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := e.key(t, e.tenant.ID)
	var list struct {
		Connections []connectionJSON `json:"connections"`
	}
	send(t, s, http.MethodGet, key, "/api/v1/connections?end_user_id=u-2", "", &list)
	if len(list.Connections) != 1 || list.Connections[0].EndUser == nil || list.Connections[0].EndUser.ID != "u-2" ||
		list.Connections[0].Metadata["n"] != "u-2" {
		t.Fatalf("filtered list %+v", list.Connections)
	}
	send(t, s, http.MethodGet, key, "/api/v1/connections", "", &list)
	if len(list.Connections) != 3 {
		t.Fatalf("unfiltered: %d", len(list.Connections))
	}
	if resp, p := send(t, s, http.MethodGet, key, "/api/v1/connections?end_user_id="+strings.Repeat("x", 201), "", nil); resp.StatusCode != 400 ||
		p.Code != "invalid_request" {
		t.Fatalf("long end_user_id: %d %+v", resp.StatusCode, p)
	}
}
