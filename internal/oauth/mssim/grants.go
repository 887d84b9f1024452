package mssim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// redeemCode is the authorization_code grant: single use (AADSTS54005),
// 10-minute life (70008), same redirect URI, PKCE verified.
func (s *Sim) redeemCode(r *http.Request, a authority, ap *app, form url.Values) (tokenResponse, *aadError) {
	raw, redirect := form.Get("code"), form.Get("redirect_uri")
	switch {
	case raw == "":
		return tokenResponse{}, errMissingParam("code")
	case redirect == "":
		return tokenResponse{}, errMissingParam("redirect_uri")
	}
	c, ok := s.codes.get(raw)
	if !ok || c.g.app != ap {
		return tokenResponse{}, newErr(400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
	}
	now := s.Now()
	switch {
	case c.redeemed.Load():
		return tokenResponse{}, errCodeRedeemed()
	case now.UnixNano() > c.expires:
		return tokenResponse{}, errExpiredGrant()
	case !a.same(c.issuedAt) && !(a.kind == akTenant && a.tenant == c.g.user.tenant):
		return tokenResponse{}, newErr(400, "invalid_grant", 700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
	case redirect != c.redirectURI:
		return tokenResponse{}, newErr(400, "invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", redirect, c.redirectURI)
	}
	if c.challenge != "" {
		verifier := form.Get("code_verifier")
		if verifier == "" {
			return tokenResponse{}, errMissingParam("code_verifier")
		}
		if !pkceMatches(c.challenge, c.method, verifier) {
			return tokenResponse{}, newErr(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		}
	}
	scopes, err := requestedScopes(form.Get("scope"), s.graphRes, c.g, ap, true)
	if err != nil {
		return tokenResponse{}, err
	}
	if !c.redeemed.CompareAndSwap(false, true) {
		return tokenResponse{}, errCodeRedeemed()
	}
	return s.respond(r, c.g, scopes, c.nonce, now)
}

func errCodeRedeemed() *aadError {
	return newErr(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
}

// redeemRefresh is the refresh_token grant. Every use returns a new refresh
// token and the old one keeps working, as on the platform, until the user is
// revoked (50173), the grant expired (70008), MFA is required (50076) or it
// went unused for 90 days (700082).
func (s *Sim) redeemRefresh(r *http.Request, a authority, ap *app, form url.Values) (tokenResponse, *aadError) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return tokenResponse{}, errMissingParam("refresh_token")
	}
	rt, ok := s.refresh.get(raw)
	if !ok {
		return tokenResponse{}, errMalformedGrant()
	}
	g := rt.g
	if g.app != ap {
		return tokenResponse{}, newErr(400, "invalid_grant", 70000, "Provided grant is invalid or malformed. The refresh token was issued to a different client.")
	}
	if err := checkGrantAuthority(a, g); err != nil {
		return tokenResponse{}, err
	}
	if err := s.checkUserGrant(g.user, g.authSeq, g.authTime); err != nil {
		return tokenResponse{}, err
	}
	now := s.Now()
	if idle := time.Duration(now.UnixNano() - rt.lastUsed.Load()); idle > s.Lifetimes().RefreshInactive {
		return tokenResponse{}, newErr(400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			dateTime(time.Unix(0, rt.issued)), timeSpan(s.Lifetimes().RefreshInactive))
	}
	scopes, err := requestedScopes(form.Get("scope"), s.graphRes, g, ap, false)
	if err != nil {
		return tokenResponse{}, err
	}
	rt.lastUsed.Store(now.UnixNano())
	return s.respond(r, g, scopes, "", now)
}

func (s *Sim) respond(r *http.Request, g *grant, scopes scopeSet, nonce string, now time.Time) (tokenResponse, *aadError) {
	resp, err := s.delegatedResponse(s.loginBase(r), g, scopes, nonce, now)
	if err != nil {
		return tokenResponse{}, newErr(500, "server_error", 50000, "There was an error issuing a token.")
	}
	return resp, nil
}

// requestedScopes applies a token request's optional scope parameter: equal
// to or a subset of what was granted, else AADSTS65001. Without one the
// token covers the whole grant. Granted OpenID scopes stay for a code; on a
// refresh an explicit scope without openid means no id_token.
func requestedScopes(raw, graphRes string, g *grant, ap *app, code bool) (scopeSet, *aadError) {
	if strings.TrimSpace(raw) == "" {
		return g.scopes, nil
	}
	p := parseScopesFor(raw, graphRes)
	p.set = forAccount(g.user, p.set) // what a personal account cannot have is left out, as at sign-in (msa.go)
	switch {
	case p.badRes != "":
		return 0, errResourceNotFound(p.badRes, g.user.tenant.name)
	case p.badScope != "":
		return 0, errInvalidScope(p.badScope)
	case p.set.resource()&^g.scopes != 0:
		return 0, errConsentMissing(ap).withSuberror("consent_required")
	}
	res := p.set.resource()
	if res == 0 || p.dflt {
		res = g.scopes.resource()
	}
	oidc := p.set & oidcScopes & g.scopes
	if code {
		oidc = g.scopes & oidcScopes
	}
	return res | oidc, nil
}

// clientCredentials is the client_credentials grant: a tenant authority,
// scope exactly {resource}/.default, no refresh token; the app's roles in
// the tenant go into the token for Graph to check.
func (s *Sim) clientCredentials(a authority, ap *app, form url.Values) (tokenResponse, *aadError) {
	tg, hasPrincipal := s.dir.tenantGrantOf(a.tenant, ap)
	if !hasPrincipal {
		return tokenResponse{}, errAppNotFound(ap.clientID, a.tenant.name)
	}
	scope := strings.TrimSpace(form.Get("scope"))
	if scope == "" {
		return tokenResponse{}, errMissingParam("scope")
	}
	name, isGraph := graphScopeName(scope, s.graphRes)
	switch {
	case strings.ContainsAny(scope, " \t"):
		return tokenResponse{}, newErr(400, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	case !isGraph:
		return tokenResponse{}, errResourceNotFound(resourceOf(scope), a.tenant.name)
	case name != ".default" || !strings.Contains(scope, "/"):
		return tokenResponse{}, newErr(400, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	}
	at := &accessToken{app: ap, tenant: a.tenant, roles: tg.roles}
	tok, secs := s.issueAccess(at, s.Lifetimes().AppAccess, s.Now())
	return tokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok}, nil
}

// pkceMatches checks a verifier against the challenge (RFC 7636).
func pkceMatches(challenge, method, verifier string) bool {
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// timeSpan formats d as .NET does in platform messages: 90.00:00:00.
func timeSpan(d time.Duration) string {
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	return fmt.Sprintf("%d.%02d:%02d:%02d", days, d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
}
