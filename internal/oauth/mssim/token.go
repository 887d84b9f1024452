package mssim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
)

// serveToken is POST /{tenant}/oauth2/v2.0/token.
func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.counts.inc(EndpointToken, "other")
		s.writeTokenError(w, r, newErr(400, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	_ = r.ParseForm() // a malformed body reads as missing parameters, as on the platform
	form := r.PostForm
	grantType := form.Get("grant_type")
	s.counts.inc(EndpointToken, grantType)

	clientID, secret, _ := clientCredentialsOf(r)
	s.counts.incClient(clientID, EndpointToken, grantType)
	if s.faults.enabled() {
		if f, ok := s.faults.match(EndpointToken, grantType, clientID, s.subjectOf(grantType, form)); ok {
			f.wait(r.Context())
			if f.failing() {
				s.writeLoginFault(w, r, f)
				return
			}
		}
	}

	a, aerr := s.parseAuthority(r.PathValue("tenant"))
	switch {
	case aerr != nil:
		s.writeTokenError(w, r, aerr)
		return
	case grantType == "":
		s.writeTokenError(w, r, errMissingParam("grant_type"))
		return
	case grantType != "authorization_code" && grantType != "refresh_token" && grantType != "client_credentials":
		s.writeTokenError(w, r, errUnknownGrantType(grantType))
		return
	case grantType == "client_credentials" && (a.kind == akCommon || a.kind == akConsumers):
		s.writeTokenError(w, r, errGrantOnCommon())
		return
	case grantType == "client_credentials" && a.kind == akOrganizations:
		s.writeTokenError(w, r, newErr(400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials."))
		return
	}

	ap, cerr := s.authenticateClient(a, clientID, secret, form, s.loginBase(r)+r.URL.EscapedPath())
	if cerr == nil && grantType != "client_credentials" {
		cerr = checkAppAuthority(ap, a)
	}
	if cerr != nil {
		s.writeTokenError(w, r, cerr)
		return
	}
	var (
		resp tokenResponse
		err  *aadError
	)
	switch grantType {
	case "authorization_code":
		resp, err = s.redeemCode(r, a, ap, form)
	case "refresh_token":
		resp, err = s.redeemRefresh(r, a, ap, form)
	default:
		resp, err = s.clientCredentials(a, ap, form)
	}
	if err != nil {
		s.writeTokenError(w, r, err)
		return
	}
	writeTokenJSON(w, resp)
}

// clientCredentialsOf reads HTTP Basic auth (form-encoded values, RFC 6749
// 2.3.1, which golang.org/x/oauth2 sends) or, failing that, the body.
func clientCredentialsOf(r *http.Request) (id, secret string, basic bool) {
	if u, p, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(u)
		secret, err2 := url.QueryUnescape(p)
		if err1 == nil && err2 == nil {
			return id, secret, true
		}
		return u, p, true
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false
}

// authenticateClient finds the app and checks its secret (wrong is
// AADSTS7000215 and expired 7000222, both HTTP 401 invalid_client) or its
// client assertion, signed for tokenURL (assertion.go).
func (s *Sim) authenticateClient(a authority, clientID, secret string, form url.Values, tokenURL string) (*app, *aadError) {
	if clientID == "" {
		return nil, errMissingParam("client_id")
	}
	ap := s.dir.app(clientID)
	if ap == nil {
		return nil, errAppNotFound(clientID, a.dirName())
	}
	if e := s.appDisabledError(ap); e != nil {
		return nil, e
	}
	if form.Get("client_assertion") != "" {
		if ap.public {
			return nil, errPublicWithSecret()
		}
		if e := s.verifyAssertion(ap, form, tokenURL); e != nil {
			return nil, e
		}
		return ap, nil
	}
	if ap.public {
		if secret != "" {
			return nil, errPublicWithSecret()
		}
		return ap, nil
	}
	if secret == "" {
		return nil, errNoSecret()
	}
	sum := sha256.Sum256([]byte(secret))
	for _, sec := range *ap.secrets.Load() {
		if subtle.ConstantTimeCompare(sum[:], sec.hash[:]) == 1 {
			if !sec.expires.IsZero() && !s.Now().Before(sec.expires) {
				return nil, errExpiredSecret(ap.clientID)
			}
			return ap, nil
		}
	}
	return nil, errBadSecret(ap.clientID)
}

// subjectOf finds the user a token request is about, for faults aimed at
// one user. It only looks; redeeming happens later.
func (s *Sim) subjectOf(grantType string, form url.Values) *user {
	switch grantType {
	case "refresh_token":
		if rt, ok := s.refresh.get(form.Get("refresh_token")); ok {
			return rt.g.user
		}
	case "authorization_code":
		if c, ok := s.codes.get(form.Get("code")); ok {
			return c.g.user
		}
	}
	return nil
}

// writeLoginFault answers a login endpoint request with an injected fault.
func (s *Sim) writeLoginFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Body != "" {
		f.writeRaw(w)
		return
	}
	e := f.loginError()
	f.setRetryAfter(w, e.status)
	s.writeTokenError(w, r, e)
}

func writeTokenJSON(w http.ResponseWriter, resp tokenResponse) {
	body, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, "encoding token response", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	_, _ = w.Write(body)
}
