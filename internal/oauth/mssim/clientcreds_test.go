package mssim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The client_credentials grant.
func TestTokenClientCredentials(t *testing.T) {
	e := newTestEnv(t)
	form := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
			"client_secret": {DemoDaemonClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	tests := []struct {
		name    string
		tenant  string
		form    url.Values
		status  int
		errCode string
		aad     int
	}{
		{"tenant GUID", DemoContosoTenantID, form(), 200, "", 0},
		{"tenant domain", DemoContosoDomain, form(), 200, "", 0},
		{"common", "common", form(), 400, "invalid_request", 9001023},
		{"consumers", "consumers", form(), 400, "invalid_request", 9001023},
		{"organizations", "organizations", form(), 400, "invalid_request", 50059},
		{"unknown tenant", "nowhere.onmicrosoft.com", form(), 400, "invalid_request", 90002},
		{"wrong secret", DemoContosoTenantID, form("client_secret", "wrong"), 401, "invalid_client", 7000215},
		{"expired secret", DemoContosoTenantID, form("client_secret", DemoDaemonExpiredSecret), 401, "invalid_client", 7000222},
		{"no scope", DemoContosoTenantID, form("scope", ""), 400, "invalid_request", 900144},
		{"delegated scope", DemoContosoTenantID, form("scope", "https://graph.microsoft.com/Mail.Read"), 400, "invalid_scope", 1002012},
		{"bare .default", DemoContosoTenantID, form("scope", ".default"), 400, "invalid_scope", 1002012},
		{"other resource", DemoContosoTenantID, form("scope", "https://outlook.office365.com/.default"), 400, "invalid_resource", 500011},
		{"app not in tenant", DemoFabrikamTenantID, form(), 400, "unauthorized_client", 700016},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postToken(tt.tenant, tt.form)
			if tt.status != 200 {
				wantTokenError(t, r, tt.status, tt.errCode, tt.aad)
				return
			}
			if r.status != 200 || r.ok.AccessToken == "" || r.ok.RefreshToken != "" || r.ok.IDToken != "" || r.ok.ExpiresIn != 3600 {
				t.Fatalf("want an access token only, 3600 s: %d %s", r.status, r.raw)
			}
		})
	}
}

// Error bodies have every documented field, the description its suffix.
func TestTokenErrorBodyShape(t *testing.T) {
	e := newTestEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/common/oauth2/v2.0/token",
		strings.NewReader(e.webForm("grant_type", "refresh_token", "refresh_token", "bogus").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", "c0ffee00-0000-4000-8000-000000000001")
	r := e.do(req)
	b := r.err
	wantDesc := "AADSTS9002313: Invalid request. Request is malformed or invalid.\r\nTrace ID: " + b.TraceID +
		"\r\nCorrelation ID: c0ffee00-0000-4000-8000-000000000001\r\nTimestamp: 2025-03-01 09:00:00Z"
	switch {
	case b.ErrorDescription != wantDesc:
		t.Errorf("description %q, want %q", b.ErrorDescription, wantDesc)
	case b.Timestamp != "2025-03-01 09:00:00Z" || !isGUID(b.TraceID) || b.CorrelationID != "c0ffee00-0000-4000-8000-000000000001":
		t.Errorf("identifiers: %+v", b)
	case b.ErrorURI != e.srv.URL+"/error?code=9002313":
		t.Errorf("error_uri %q", b.ErrorURI)
	case r.header.Get("Content-Type") != "application/json; charset=utf-8":
		t.Errorf("content type %q", r.header.Get("Content-Type"))
	}
	for _, field := range []string{`"error":`, `"error_description":`, `"error_codes":[9002313]`, `"timestamp":`, `"trace_id":`, `"correlation_id":`, `"error_uri":`} {
		if !strings.Contains(r.raw, field) {
			t.Errorf("body lacks %s: %s", field, r.raw)
		}
	}
}
