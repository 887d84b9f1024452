package mssim

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
)

func (s *Sim) loginRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.serveAuthorize)
	mux.HandleFunc("POST /{tenant}/login", s.serveLogin)
	mux.HandleFunc("POST /{tenant}/consent", s.serveConsent)
	mux.HandleFunc("GET "+fedReturnPath, s.serveFederationReturn)
	mux.HandleFunc("GET /{tenant}/v2.0/adminconsent", s.serveAdminConsent)
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveDiscovery)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.serveKeys)
	mux.HandleFunc("GET /error", serveErrorLookup)
	mux.HandleFunc("GET /{$}", s.serveIndex)
	return mux
}

// discoveryDoc is the OpenID configuration in Entra's shape. The endpoint
// list is the platform's, including ones the sim does not serve.
type discoveryDoc struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
}

// issuerFor is {base}/{tid}/v2.0, with the literal template {tenantid} for
// common and organizations: clients of a multi-tenant authority must check
// iss against the token's tid themselves, as with real Entra.
func issuerFor(base string, a authority) string {
	if a.multiTenant() {
		return base + "/{tenantid}/v2.0"
	}
	return base + "/" + a.tenant.id + "/v2.0"
}

func (s *Sim) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointDiscovery, "")
	a, err := s.parseAuthority(r.PathValue("tenant"))
	if err != nil {
		err.err = "invalid_tenant"
		s.writeTokenError(w, r, err)
		return
	}
	base := s.loginBase(r)
	seg := a.raw
	switch a.kind {
	case akConsumers:
		seg = "consumers"
	case akTenant:
		seg = a.tenant.id // a domain authority publishes its GUID endpoints
	}
	ep := base + "/" + url.PathEscape(seg)
	graph := s.graphBase(r)
	doc := discoveryDoc{
		TokenEndpoint:                     ep + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           ep + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            issuerFor(base, a),
		UserinfoEndpoint:                  graph + "/oidc/userinfo",
		AuthorizationEndpoint:             ep + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       ep + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                ep + "/oauth2/v2.0/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		CloudInstanceName:  "microsoftonline.com",
		CloudGraphHostName: "graph.windows.net",
		MSGraphHost:        strings.TrimPrefix(strings.TrimPrefix(graph, "https://"), "http://"),
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Sim) serveKeys(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointKeys, "")
	a, err := s.parseAuthority(r.PathValue("tenant"))
	if err != nil {
		err.err = "invalid_tenant"
		s.writeTokenError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.keys.jwks(issuerFor(s.loginBase(r), a)))
}

// serveErrorLookup stands in for login.microsoftonline.com/error, where
// error_uri points.
func serveErrorLookup(w http.ResponseWriter, r *http.Request) {
	code := html.EscapeString(r.URL.Query().Get("code"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html><title>AADSTS%s</title><h1>AADSTS%s</h1><p>Error code lookup is not simulated; see the Microsoft Entra error code reference.</p>", code, code)
}

// serveIndex lists who can sign in, for a person opening the sim in a
// browser.
func (s *Sim) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Simulated Microsoft identity platform and Graph (mssim).")
	fmt.Fprintln(w, "Accounts:")
	for _, t := range s.dir.tiles(hostLogin) {
		fmt.Fprintf(w, "  %-40s %s (%s)\n", t.UPN, t.DisplayName, t.Kind)
	}
	fmt.Fprintln(w, "Control API: GET /_sim/counters, /_sim/directory, /_sim/faults …")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
