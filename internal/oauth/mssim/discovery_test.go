package mssim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestDiscovery(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		tenant, issuer, tokenEndpoint string
	}{
		{"common", "/{tenantid}/v2.0", "/common/oauth2/v2.0/token"},
		{"organizations", "/{tenantid}/v2.0", "/organizations/oauth2/v2.0/token"},
		{"consumers", "/" + ConsumersTenantID + "/v2.0", "/consumers/oauth2/v2.0/token"},
		{DemoContosoDomain, "/" + DemoContosoTenantID + "/v2.0", "/" + DemoContosoTenantID + "/oauth2/v2.0/token"},
		{DemoFabrikamTenantID, "/" + DemoFabrikamTenantID + "/v2.0", "/" + DemoFabrikamTenantID + "/oauth2/v2.0/token"},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			var doc discoveryDoc
			getJSON(t, e.srv.URL+"/"+tt.tenant+"/v2.0/.well-known/openid-configuration", 200, &doc)
			if doc.Issuer != e.srv.URL+tt.issuer || doc.TokenEndpoint != e.srv.URL+tt.tokenEndpoint {
				t.Fatalf("issuer %s, token endpoint %s", doc.Issuer, doc.TokenEndpoint)
			}
			var keys struct{ Keys []jwk }
			getJSON(t, doc.JWKSURI, 200, &keys)
			if len(keys.Keys) != 1 || keys.Keys[0].Kid == "" || keys.Keys[0].Issuer != doc.Issuer {
				t.Fatalf("keys: %+v", keys)
			}
		})
	}
	var body TokenErrorBody
	getJSON(t, e.srv.URL+"/nowhere.example/v2.0/.well-known/openid-configuration", 400, &body)
	if body.ErrorCodes[0] != 90002 {
		t.Fatalf("unknown tenant: %+v", body)
	}
	if n := e.sim.Count(EndpointDiscovery, ""); n != int64(len(tests)+1) {
		t.Errorf("discovery count %d", n)
	}
}

func getJSON(t *testing.T, url string, status int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
