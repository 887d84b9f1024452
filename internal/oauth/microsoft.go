package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Microsoft talks to the Microsoft identity platform and Graph. LoginBase and
// GraphBase are configurable because x/oauth2/microsoft hard-codes the global
// cloud, and because tests and the demo point them at the simulation.
type Microsoft struct {
	LoginBase string // e.g. https://login.microsoftonline.com
	GraphBase string // e.g. https://graph.microsoft.com
	// GraphResource names Graph in scopes: the cloud's Graph host, whatever
	// GraphBase points at (the simulation stands in for the host, not for
	// the resource). Empty: the global cloud's.
	GraphResource string
	ClientID      string
	ClientSecret  string
	// Credential, when set, is the broker's app credential instead of
	// ClientSecret: a certificate for every flow the broker runs.
	Credential  Credential
	RedirectURL string
	HTTPClient  *http.Client
	Now         func() time.Time

	keys keySets
}

// NewHTTPClient is a client sized for a token broker: bounded time, many
// idle connections to the one host it talks to.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: 30 * time.Second,
		// Token and Graph endpoints never redirect; following one could leak a bearer token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (m *Microsoft) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Microsoft) endpoint(authority string) oauth2.Endpoint {
	base := m.LoginBase + "/" + url.PathEscape(authority) + "/oauth2/v2.0"
	return oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInParams}
}

func (m *Microsoft) config(authority string, scopes []string) *oauth2.Config {
	return &oauth2.Config{ClientID: m.ClientID, Endpoint: m.endpoint(authority),
		RedirectURL: m.RedirectURL, Scopes: scopes}
}

// DefaultScope is Graph's .default scope in the configured cloud: what
// client credentials and admin consent ask for.
func (m *Microsoft) DefaultScope() string {
	if m.GraphResource == "" {
		return GraphDefaultScope
	}
	return strings.TrimRight(m.GraphResource, "/") + "/.default"
}

// AuthorizeURL builds the /authorize redirect with PKCE S256.
func (m *Microsoft) AuthorizeURL(r AuthorizeRequest) string {
	opts := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("code_challenge", r.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"),
		oauth2.SetAuthURLParam("response_mode", "query"),
	}
	if r.Nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", r.Nonce))
	}
	// select_account and login_hint do not go together (AADSTS90005);
	// prompt=login with a hint does (re-authentication).
	if r.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", r.LoginHint))
	}
	if r.Prompt != "" && (r.LoginHint == "" || r.Prompt != "select_account") {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", r.Prompt))
	}
	if r.MaxAge != nil {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.Itoa(int(r.MaxAge.Seconds()))))
	}
	return m.config(r.Authority, r.Scopes).AuthCodeURL(r.State, opts...)
}

// AdminConsentURL builds the v2 admin consent link for Graph's .default.
func (m *Microsoft) AdminConsentURL(authority, state string) string {
	q := url.Values{"client_id": {m.ClientID}, "scope": {m.DefaultScope()}, "redirect_uri": {m.RedirectURL}, "state": {state}}
	return m.LoginBase + "/" + url.PathEscape(authority) + "/v2.0/adminconsent?" + q.Encode()
}

// Exchange redeems an authorization code with its PKCE verifier.
func (m *Microsoft) Exchange(ctx context.Context, authority, code, verifier string) (*Token, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {m.RedirectURL}}
	return m.postToken(ctx, authority, m.ClientID, m.credential(), form)
}

// Refresh redeems a refresh token. Microsoft answers with a new refresh
// token each time; the caller stores it and drops the old one. An answer
// without one leaves RefreshToken empty: keep the old one.
func (m *Microsoft) Refresh(ctx context.Context, authority, refreshToken string) (*Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	return m.postToken(ctx, authority, m.ClientID, m.credential(), form)
}

// ClientCredentials requests an app-only token with the customer's own app,
// authenticated by its secret or certificate.
func (m *Microsoft) ClientCredentials(ctx context.Context, authority, clientID string, cred Credential) (*Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {m.DefaultScope()}}
	return m.postToken(ctx, authority, clientID, cred, form)
}

func expiresIn(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x > 0
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil && n > 0
	case json.Number:
		n, err := x.Int64()
		return n, err == nil && n > 0
	}
	return 0, false
}
