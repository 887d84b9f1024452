package adminapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/store"
)

func decode[T any](t *testing.T, res admintest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
		t.Fatalf("%s %s: %v\n%s", res.Request.Method, res.Request.URL.Path, err, res.Body)
	}
	return v
}

type problem struct {
	Code   string `json:"code"`
	Status int    `json:"status"`
	Field  string `json:"field"`
}

type list struct {
	Connections []struct {
		ID, Name, Status, TenantID string
		Project                    string `json:"project"`
	} `json:"connections"`
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
	Next   string         `json:"next_cursor"`
}

func names(l list) []string {
	var out []string
	for _, c := range l.Connections {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

func wantProblem(t *testing.T, res admintest.Response, status int, code string) problem {
	t.Helper()
	admintest.WantStatus(t, res, status)
	p := decode[problem](t, res)
	if p.Code != code || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s %s: code %q (%s), want %q", res.Request.Method, res.Request.URL.Path, p.Code, res.Header.Get("Content-Type"), code)
	}
	return p
}

func TestAdminAPIAuthentication(t *testing.T) {
	s := admintest.New(t)
	tokenKey := s.APIKey(t, s.Tenant.ID, "fetcher", false)
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections", "", ""), 401, "unauthorized")
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections", "brk_nonsense", ""), 401, "unauthorized")
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections", tokenKey, ""), 403, "forbidden")
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/delete", tokenKey, `{"reason":"x"}`), 403, "forbidden")
	// A browser session is no key: the API reads no cookies.
	b := s.Browser(t).SignIn(s.Admin.Email)
	res := b.Get("/api/v1/admin/connections")
	wantProblem(t, res, 401, "unauthorized")
	// The token API is still there next to the admin API.
	admintest.WantStatus(t, s.API(t, http.MethodGet, "/api/v1/connections/"+s.SalesConn.ID+"/token", tokenKey, ""), 200)
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/nothing", s.APIKey(t, s.Tenant.ID, "a", true), ""), 404, "not_found")
}

func TestAdminAPIListAndDetailStayInScope(t *testing.T) {
	s := admintest.New(t)
	key := s.APIKey(t, s.Tenant.ID, "ops-bot", true)
	supportOnly := s.APIKey(t, s.Tenant.ID, "support-bot", true, s.Support.ID)
	globex := s.APIKey(t, s.Globex.ID, "globex-bot", true)

	l := decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections", key, ""))
	if got := names(l); !slices.Equal(got, []string{"Daemon", "Sales inbox", "Support inbox"}) || l.Total != 3 || l.Counts["active"] != 3 {
		t.Fatalf("acme admin key lists %v, counts %v", got, l.Counts)
	}
	if got := names(decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections", supportOnly, ""))); !slices.Equal(got, []string{"Support inbox"}) {
		t.Fatalf("Support-only key lists %v", got)
	}
	if got := names(decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections", globex, ""))); !slices.Equal(got, []string{"Globex ops"}) {
		t.Fatalf("globex key lists %v", got)
	}
	s.SetStatus(t, s.SupportConn, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008"})
	l = decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections?status=broken", key, ""))
	if got := names(l); !slices.Equal(got, []string{"Support inbox"}) {
		t.Fatalf("broken lists %v", got)
	}
	l = decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections?limit=1&sort=name", key, ""))
	if len(l.Connections) != 1 || l.Connections[0].Name != "Daemon" || l.Next == "" {
		t.Fatalf("page 1: %+v", l)
	}
	l = decode[list](t, s.API(t, http.MethodGet, "/api/v1/admin/connections?limit=1&sort=name&cursor="+l.Next, key, ""))
	if len(l.Connections) != 1 || l.Connections[0].Name != "Sales inbox" {
		t.Fatalf("page 2: %+v", l)
	}
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections?status=exploded", key, ""), 400, "invalid_request")
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections?limit=0", key, ""), 400, "invalid_request")

	type detail struct {
		Connection struct {
			ID, Status string
		} `json:"connection"`
		StatusHistory []struct{ Status, ErrorCode string } `json:"status_history"`
		Actions       []string                             `json:"actions"`
	}
	d := decode[detail](t, s.API(t, http.MethodGet, "/api/v1/admin/connections/"+s.SupportConn.ID, key, ""))
	if d.Connection.Status != "needs_reauth" || len(d.StatusHistory) < 2 || !slices.Contains(d.Actions, "disable") {
		t.Fatalf("detail: %+v", d)
	}
	res := s.API(t, http.MethodGet, "/api/v1/admin/connections/"+s.SupportConn.ID, key, "")
	for _, secretish := range []string{"refresh_token", "client_secret\"", "access_token\""} {
		if strings.Contains(res.Body, secretish) {
			t.Fatalf("detail shows %s", secretish)
		}
	}
	// Out of scope is 404, never 403: another tenant's, another project's, made up.
	for _, c := range []struct{ key, id string }{{key, s.GlobexConn.ID}, {supportOnly, s.SalesConn.ID}, {globex, s.SalesConn.ID},
		{key, "00000000-0000-4000-8000-000000000000"}, {key, "nope"}} {
		wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections/"+c.id, c.key, ""), 404, "connection_not_found")
		wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+c.id+"/disable", c.key, `{"reason":"x"}`), 404, "connection_not_found")
	}
}

func TestAdminAPIActions(t *testing.T) {
	s := admintest.New(t)
	key := s.APIKey(t, s.Tenant.ID, "ops-bot", true)
	fetcher := s.APIKey(t, s.Tenant.ID, "fetcher", false)
	token := "/api/v1/connections/" + s.SalesConn.ID + "/token"
	admintest.WantStatus(t, s.API(t, http.MethodGet, token, fetcher, ""), 200)

	p := wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/disable", key, ""), 422, "invalid_input")
	if p.Field != "reason" {
		t.Fatalf("field %q", p.Field)
	}
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/disable", key, `{"why":"x"}`), 400, "invalid_request")
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/explode", key, `{}`), 404, "not_found")

	type outcome struct {
		Action, Message string
		Connection      *struct{ Status string } `json:"connection"`
		Test            *struct {
			OK      bool   `json:"ok"`
			Account string `json:"account"`
		} `json:"test"`
	}
	o := decode[outcome](t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/test", key, ""))
	if o.Test == nil || !o.Test.OK || o.Test.Account != s.Demo.Adele.UPN {
		t.Fatalf("test: %+v", o)
	}
	o = decode[outcome](t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/disable", key, `{"reason":"rotation window"}`))
	if o.Connection == nil || o.Connection.Status != "disabled" {
		t.Fatalf("disable: %+v", o)
	}
	res := s.API(t, http.MethodGet, token, fetcher, "")
	if c := decode[problem](t, res).Code; c != "connection_disabled" {
		t.Fatalf("token after disable: %s", c)
	}
	wantProblem(t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/disable", key, `{"reason":"x"}`), 409, "conflict")
	decode[outcome](t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.SalesConn.ID+"/enable", key, `{}`))
	admintest.WantStatus(t, s.API(t, http.MethodGet, token, fetcher, ""), 200)

	// The audit names the key, never the key itself.
	ev, _ := s.Store.ListAudit(t.Context(), s.Tenant.ID, store.AuditFilter{ConnectionID: s.SalesConn.ID, Action: "connection.disabled"})
	if len(ev) != 1 || ev[0].ActorType != "api_key" || !strings.HasPrefix(ev[0].ActorLabel, "ops-bot (brk_") || strings.Contains(ev[0].ActorLabel, key) {
		t.Fatalf("audit: %+v", ev)
	}
	o = decode[outcome](t, s.API(t, http.MethodPost, "/api/v1/admin/connections/"+s.AppConn.ID+"/delete", key, `{"reason":"retired"}`))
	if o.Connection != nil {
		t.Fatalf("delete answered with a connection: %+v", o)
	}
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/connections/"+s.AppConn.ID, key, ""), 404, "connection_not_found")

	type events struct {
		Events []struct{ Type, Actor string } `json:"events"`
	}
	e := decode[events](t, s.API(t, http.MethodGet, "/api/v1/admin/audit?type=connection.deleted", key, ""))
	if len(e.Events) != 1 || e.Events[0].Type != "connection.deleted" {
		t.Fatalf("audit: %+v", e)
	}
	// A key bound to projects may not read the whole tenant's log.
	wantProblem(t, s.API(t, http.MethodGet, "/api/v1/admin/audit", s.APIKey(t, s.Tenant.ID, "b", true, s.Sales.ID), ""), 403, "forbidden")
}
