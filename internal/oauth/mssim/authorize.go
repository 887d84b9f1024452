package mssim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

type flowKind int

const (
	flowAuthorize flowKind = iota
	flowAdminConsent
)

// flow is one browser's trip through the sign-in pages, from the authorize
// (or adminconsent) request to the redirect back to the app.
type flow struct {
	id          string
	kind        flowKind
	auth        authority
	app         *app
	redirectURI string
	state       string
	nonce       string
	challenge   string
	method      string
	prompt      string
	maxAge      time.Duration // OIDC max_age; hasMaxAge says whether it was sent
	hasMaxAge   bool
	scopes      scopeSet // asked for
	scopeParam  string   // admin consent: echoed back as sent
	expires     int64
	loginBase   string // the login host as this browser saw it, for the IdP's return

	host string // which host shows the flow's pages now (hostLogin…); under mu

	mu   sync.Mutex // form posts for one flow may race (double clicks)
	user *user
	sess *session
	ask  scopeSet // on the consent page
}

func (f *flow) purgeAt() int64 { return f.expires }

// session is a signed-in browser; only prompt=none uses it.
type session struct {
	user     *user
	authSeq  int64
	authTime time.Time
}

func (s *session) purgeAt() int64 { return s.authTime.Add(90 * 24 * time.Hour).UnixNano() }

const sessionCookie = "mssim_session"

var prompts = []string{"", "login", "none", "consent", "select_account"}

// serveAuthorize is GET /{tenant}/oauth2/v2.0/authorize. Problems with the
// tenant, client or redirect URI are shown on a page, since redirecting to an
// unverified URI would be unsafe; everything after that is redirected.
func (s *Sim) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointAuthorize, "")
	q := r.URL.Query()
	s.seen.record(q)
	s.counts.incClient(q.Get("client_id"), EndpointAuthorize, "")
	f, perr := s.startFlow(r, q, flowAuthorize)
	if perr != nil {
		s.showError(w, r, perr)
		return
	}
	if s.faults.enabled() {
		if ft, ok := s.faults.match(EndpointAuthorize, "", f.app.clientID, s.dir.user(q.Get("login_hint"))); ok {
			ft.wait(r.Context())
			if ft.failing() {
				s.redirectError(w, r, f, ft.loginError())
				return
			}
		}
	}
	if e := s.validateAuthorize(f, q); e != nil {
		s.redirectError(w, r, f, e)
		return
	}
	s.flows.put(f.id, f, s.Now().UnixNano())
	switch s.hintedHost(f, q.Get("login_hint"), q.Get("domain_hint")) {
	case hostMSA:
		s.toMSA(w, r, f, q.Get("login_hint"))
		return
	case hostIdP:
		if f.prompt != "none" {
			s.toIdP(w, r, f, q.Get("login_hint"))
			return
		}
	}
	if f.prompt == "none" {
		s.silent(w, r, f, q.Get("login_hint"))
		return
	}
	s.showSignIn(w, r, f, q.Get("login_hint"), nil)
}

// startFlow checks what must hold before anything can be redirected:
// tenant, client and the exact redirect URI.
func (s *Sim) startFlow(r *http.Request, q url.Values, kind flowKind) (*flow, *aadError) {
	a, err := s.parseAuthority(r.PathValue("tenant"))
	if err != nil {
		return nil, err
	}
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		return nil, errMissingParam("client_id")
	}
	ap := s.dir.app(clientID)
	switch {
	case ap == nil:
		return nil, errAppNotFound(clientID, a.dirName())
	case redirect == "":
		return nil, newErr(400, "invalid_request", 900971, "No reply address provided.")
	case !slices.Contains(ap.redirects, redirect):
		return nil, errRedirectMismatch(redirect, ap.clientID)
	}
	if kind == flowAuthorize {
		if err := checkAppAuthority(ap, a); err != nil {
			return nil, err
		}
	}
	return &flow{id: newToken("", 24), kind: kind, auth: a, app: ap, redirectURI: redirect,
		state: q.Get("state"), expires: s.Now().Add(time.Hour).UnixNano(), loginBase: s.loginBase(r), host: hostLogin}, nil
}

// validateAuthorize checks the rest of the request; its errors are
// redirected to the app with state.
func (s *Sim) validateAuthorize(f *flow, q url.Values) *aadError {
	switch rt := q.Get("response_type"); {
	case rt == "":
		return errMissingParam("response_type")
	case rt != "code":
		return newErr(400, "unsupported_response_type", 700054, "response_type '%s' is not enabled for the application.", rt)
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return newErr(400, "invalid_request", 70007, "The application returned an unsupported response_mode '%s'. (The simulation supports response_mode=query only.)", rm)
	}
	raw := q.Get("scope")
	if strings.TrimSpace(raw) == "" {
		return errMissingParam("scope")
	}
	p := s.parse(raw)
	switch {
	case p.badRes != "":
		return errResourceNotFound(p.badRes, f.auth.dirName())
	case p.badScope != "":
		return errInvalidScope(p.badScope)
	}
	f.scopes = p.set
	if p.dflt {
		f.scopes |= f.app.scopes
	}
	if f.scopes.resource() == 0 && !f.scopes.has(scopeOpenID) {
		return errInvalidScope(raw)
	}
	if e := f.setPKCE(q.Get("code_challenge"), q.Get("code_challenge_method")); e != nil {
		return e
	}
	f.prompt, f.nonce = q.Get("prompt"), q.Get("nonce")
	var e *aadError
	if f.maxAge, f.hasMaxAge, e = parseMaxAge(q.Get("max_age")); e != nil {
		return e
	}
	switch {
	case !slices.Contains(prompts, f.prompt):
		return newErr(400, "invalid_request", 90100, "The parameter 'prompt' is empty or not valid.")
	case f.prompt == "select_account" && q.Get("login_hint") != "":
		return newErr(400, "invalid_request", 90005, "The request isn't valid because prompt=select_account and login_hint can't be used together.")
	}
	return nil
}

// setPKCE validates code_challenge and its method. The platform accepts
// plain and S256; an app with RequirePKCE must send S256.
func (f *flow) setPKCE(challenge, method string) *aadError {
	if challenge == "" {
		if method != "" || f.app.pkce {
			return errMissingParam("code_challenge")
		}
		return nil
	}
	if method == "" {
		method = "plain"
	}
	switch {
	case method != "plain" && method != "S256":
		return newErr(400, "invalid_request", 90100, "The parameter 'code_challenge_method' is empty or not valid.")
	case f.app.pkce && method != "S256":
		return newErr(400, "invalid_request", 90100, "The parameter 'code_challenge_method' must be S256 for this application.")
	case len(challenge) < 43 || len(challenge) > 128:
		return newErr(400, "invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
	}
	f.challenge, f.method = challenge, method
	return nil
}

// redirectError sends the browser back to the app with error,
// error_description and state.
func (s *Sim) redirectError(w http.ResponseWriter, r *http.Request, f *flow, e *aadError, extra ...string) {
	t := s.trace(r, e)
	kv := append([]string{"error", e.err}, extra...)
	kv = append(kv, "error_description", t.description(), "state", f.state)
	s.flows.del(f.id)
	http.Redirect(w, r, appendQuery(f.redirectURI, kv...), http.StatusFound)
}

// appendQuery adds key/value pairs to uri's query, keeping what is there
// and skipping empty values (an absent state stays absent).
func appendQuery(uri string, kv ...string) string {
	var b strings.Builder
	b.WriteString(uri)
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		b.WriteString(sep + url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
		sep = "&"
	}
	return b.String()
}
