package mssim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The control API drives the same controls as the Go API.
func TestAdminAPI(t *testing.T) {
	e := newTestEnv(t)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const tenantID = "cccc1111-2222-4333-8444-555566667777"
	const clientID = "dddd1111-2222-4333-8444-555566667777"
	steps := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"add tenant", "POST", "/_sim/tenants", `{"id":"` + tenantID + `","name":"Northwind","domains":["northwind.onmicrosoft.com"],"adminConsentRequired":[".Shared"]}`, 204, ""},
		{"duplicate tenant", "POST", "/_sim/tenants", `{"id":"` + tenantID + `","name":"Northwind"}`, 409, "already registered"},
		{"add user", "POST", "/_sim/users", `{"tenantId":"northwind.onmicrosoft.com","userPrincipalName":"nancy@northwind.onmicrosoft.com","displayName":"Nancy Davolio"}`, 200, `"objectId":"`},
		{"user in unknown tenant", "POST", "/_sim/users", `{"tenantId":"nowhere","userPrincipalName":"x@y"}`, 400, "unknown tenant"},
		{"register app", "POST", "/_sim/apps", `{"clientId":"` + clientID + `","name":"Northwind daemon","homeTenant":"` + tenantID + `","audience":"AzureADMyOrg","secrets":[{"value":"s1","expires":"2030-01-01T00:00:00Z"}],"appPermissions":["Mail.Read"]}`, 204, ""},
		{"add secret", "POST", "/_sim/apps/" + clientID + "/secrets", `{"value":"s2","expires":"2031-01-01T00:00:00Z"}`, 204, ""},
		{"grant roles", "POST", "/_sim/tenants/" + tenantID + "/roles", `{"clientId":"` + clientID + `"}`, 204, ""},
		{"grant consent", "POST", "/_sim/tenants/" + DemoFabrikamTenantID + "/consent", `{"clientId":"` + DemoWebClientID + `","scopes":["Mail.ReadWrite.Shared"]}`, 204, ""},
		{"unknown role", "POST", "/_sim/tenants/" + tenantID + "/roles", `{"clientId":"` + clientID + `","roles":["Mail.Fly"]}`, 400, "not in the catalog"},
		{"directory", "GET", "/_sim/directory", "", 200, "nancy@northwind.onmicrosoft.com"},
		{"lifetimes", "PUT", "/_sim/lifetimes", `{"accessMin":"10m","accessMax":"10m","refreshInactive":"30d"}`, 200, `"refreshInactive":"720h0m0s"`},
		{"bad lifetime", "PUT", "/_sim/lifetimes", `{"code":"soon"}`, 400, "code"},
		{"advance clock", "POST", "/_sim/clock/advance", `{"by":"1d"}`, 200, "2025-03-02T09:00:00Z"},
		{"clock", "GET", "/_sim/clock", "", 200, "2025-03-02T09:00:00Z"},
		{"revoke", "POST", "/_sim/users/adele@contoso.onmicrosoft.com/revoke", "", 204, ""},
		{"revoke unknown", "POST", "/_sim/users/nobody@x/revoke", "", 400, "unknown user"},
		{"expire grants", "POST", "/_sim/users/" + e.demo.Alex.ObjectID + "/expire-grants", "", 204, ""},
		{"expire idle", "POST", "/_sim/users/" + e.demo.Pat.UPN + "/expire-idle", "", 204, ""},
		{"mfa", "PUT", "/_sim/users/megan@fabrikam.onmicrosoft.com/mfa", `{"mode":"interaction_required"}`, 204, ""},
		{"mfa bad mode", "PUT", "/_sim/users/megan@fabrikam.onmicrosoft.com/mfa", `{"mode":"maybe"}`, 400, "mode"},
		{"add fault", "POST", "/_sim/faults", `{"endpoint":"token","grant":"client_credentials","times":1,"status":429,"retryAfter":"2s"}`, 200, `"id":1`},
		{"list faults", "GET", "/_sim/faults", "", 200, `"retryAfter":"2s"`},
		{"bad body", "POST", "/_sim/faults", `{`, 400, "decoding"},
		{"counters", "GET", "/_sim/counters", "", 200, "{"},
		{"reset counters", "DELETE", "/_sim/counters", "", 204, ""},
	}
	for _, s := range steps {
		status, body := call(s.method, s.path, s.body)
		if status != s.status || !strings.Contains(body, s.contains) {
			t.Fatalf("%s: %d %s, want %d containing %q", s.name, status, body, s.status, s.contains)
		}
	}

	// The app registered over HTTP works, after the injected 429.
	form := map[string][]string{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {"s2"}, "scope": {"https://graph.microsoft.com/.default"}}
	if r := e.postToken("northwind.onmicrosoft.com", form); r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("want the injected 429: %d %s", r.status, r.raw)
	}
	r := e.postToken("northwind.onmicrosoft.com", form)
	if r.status != 200 {
		t.Fatalf("client credentials: %s", r.raw)
	}
	if status, _, _ := e.graphGet("/v1.0/users/nancy@northwind.onmicrosoft.com/mailFolders/inbox", r.ok.AccessToken); status != 200 {
		t.Fatalf("inbox: %d", status)
	}
	var counts map[string]int64
	_, body := call("GET", "/_sim/counters", "")
	if err := json.Unmarshal([]byte(body), &counts); err != nil || counts["token/client_credentials"] != 2 || counts["graph/mailFolders"] != 1 {
		t.Fatalf("counters %s", body)
	}
	if status, _ := call("DELETE", "/_sim/faults", ""); status != 204 || len(e.sim.Faults()) != 0 {
		t.Fatal("faults not cleared")
	}
	if l := e.sim.Lifetimes(); l.AccessMin.Minutes() != 10 || l.RefreshInactive.Hours() != 720 {
		t.Fatalf("lifetimes %+v", l)
	}
}
