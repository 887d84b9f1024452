package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The broker makes its token requests itself rather than through x/oauth2's
// Exchange and TokenSource: those only know client secrets, and a
// certificate credential needs a fresh client assertion (aud = this token
// endpoint, a new jti) in the body of every request. x/oauth2 still builds
// the authorize URL.

// tokenAnswer is the token endpoint's success body.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	ExpiresIn    any    `json:"expires_in"`
}

// maxTokenBody bounds what is read from the token endpoint.
const maxTokenBody = 1 << 20

// credential is the broker's own app credential: Credential when set,
// else ClientSecret.
func (m *Microsoft) credential() Credential {
	if m.Credential != nil {
		return m.Credential
	}
	return ClientSecret(m.ClientSecret)
}

// postToken sends one token request authenticated as clientID with cred.
func (m *Microsoft) postToken(ctx context.Context, authority, clientID string, cred Credential, form url.Values) (*Token, error) {
	tokenURL := m.endpoint(authority).TokenURL
	form.Set("client_id", clientID)
	if cred == nil {
		return nil, &Error{Code: "invalid_client", Description: "The broker holds no credential for this app."}
	}
	if err := cred.authenticate(form, clientID, tokenURL, m.now()); err != nil {
		return nil, &Error{Code: "invalid_client", Description: "The broker could not use the app's credential: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oauth: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := m.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fromTokenError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, fromTokenError(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The same shape x/oauth2 returns, so one parser reads both.
		return nil, fromTokenError(&oauth2.RetrieveError{Response: resp, Body: body})
	}
	var a tokenAnswer
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" || json.Unmarshal(body, &a) != nil {
		return nil, fromTokenError(&oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: "server_error",
			ErrorDescription: "the token endpoint answered with something other than a token"})
	}
	if a.AccessToken == "" {
		return nil, &Error{HTTPStatus: resp.StatusCode, Code: "server_error", Description: "The token endpoint answered without an access_token."}
	}
	out := &Token{AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, IDToken: a.IDToken, Scopes: strings.Fields(a.Scope)}
	// Expiry from expires_in against the broker's own clock, so tests with
	// an injected clock can move it.
	if secs, ok := expiresIn(a.ExpiresIn); ok {
		out.ExpiresAt = m.now().Add(time.Duration(secs) * time.Second)
	} else {
		out.ExpiresAt = m.now().Add(time.Hour)
	}
	return out, nil
}
