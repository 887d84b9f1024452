package mssim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The sim's sign-in is not one host, because Microsoft's is not
// (shared/reference/microsoft-identity-platform.md, "Sign-in is not one
// host"):
//
//   - Personal accounts sign in at the Microsoft account host,
//     login.live.com: /consumers sends every browser there by redirect before
//     any page renders, and on /common the login host hands a personal
//     account it recognises on to it ("There is also a consumer tenant …
//     which federates to live id https://login.live.com/oauth20_authorize.srf";
//     https://learn.microsoft.com/entra/identity-platform/v2-protocols).
//   - Users of a federated domain sign in at their organisation's own
//     identity provider (AD FS, Okta…): "After they type their User Principal
//     Name (UPN), if they are in a federated domain they're then taken to the
//     sign-in page of the IdP serving that domain", and directly, without the
//     Microsoft page, when domain_hint or a login_hint of that domain is given
//     (https://learn.microsoft.com/entra/identity/enterprise-apps/configure-authentication-for-federated-users-portal,
//     https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow "domain_hint").
//     The IdP signs the person in and returns them to the login host, which
//     carries on (consent, code) as for any work account.
//
// Options.MSABaseURL and Options.IdPBaseURL put these on their own origins,
// served by MSAHandler and IdPHandler; StartServers and Serve do that. Left
// empty, the same paths are served by Handler on the login host itself, so a
// single httptest server still works for tests that do not care which
// origin a page came from.

// The hosts a page can come from; base.html brands itself by it.
const (
	hostLogin = "login"
	hostMSA   = "msa"
	hostIdP   = "idp"
)

// Paths, as on the real hosts.
const (
	msaAuthorizePath = "/oauth20_authorize.srf"
	msaPostPath      = "/ppsecure/post.srf"
	msaConsentPath   = "/ppsecure/consent.srf"
	idpPath          = "/adfs/ls/"
	fedReturnPath    = "/login.srf"
)

// MSAHandler serves the Microsoft account host (login.live.com's part).
func (s *Sim) MSAHandler() http.Handler { return s.msa }

// IdPHandler serves the federated organisation's identity provider.
func (s *Sim) IdPHandler() http.Handler { return s.idp }

func (s *Sim) msaRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+msaAuthorizePath, s.serveMSAAuthorize)
	mux.HandleFunc("POST "+msaPostPath, s.serveMSALogin)
	mux.HandleFunc("POST "+msaConsentPath, s.serveConsent)
	return mux
}

func (s *Sim) idpRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+idpPath, s.serveIdPSignIn)
	mux.HandleFunc("POST "+idpPath, s.serveIdPLogin)
	return mux
}

func (s *Sim) msaBase(r *http.Request) string {
	if s.opts.MSABaseURL != "" {
		return s.opts.MSABaseURL
	}
	return requestBase(r)
}

func (s *Sim) idpBase(r *http.Request) string {
	if s.opts.IdPBaseURL != "" {
		return s.opts.IdPBaseURL
	}
	return requestBase(r)
}

// toMSA continues a flow on the Microsoft account host.
func (s *Sim) toMSA(w http.ResponseWriter, r *http.Request, f *flow, login string) {
	f.mu.Lock()
	f.host = hostMSA
	f.mu.Unlock()
	http.Redirect(w, r, appendQuery(s.msaBase(r)+msaAuthorizePath, "client_id", f.app.clientID, "ctx", f.id, "username", login), http.StatusFound)
}

// toIdP continues a flow on the tenant's federated identity provider, in
// WS-Federation's words as AD FS gets them from Entra.
func (s *Sim) toIdP(w http.ResponseWriter, r *http.Request, f *flow, login string) {
	http.Redirect(w, r, appendQuery(s.idpBase(r)+idpPath, "wa", "wsignin1.0", "wtrealm", "urn:federation:MicrosoftOnline",
		"wctx", f.id, "username", login), http.StatusFound)
}

// hintedHost decides, before any page renders, whether an authorize request
// goes straight on to another host: /consumers always to the Microsoft
// account host; a login_hint naming a personal account (on /common) there
// too; a domain_hint or login_hint of a federated domain to that
// organisation's IdP.
func (s *Sim) hintedHost(f *flow, loginHint, domainHint string) string {
	if f.kind == flowAuthorize && f.auth.kind == akConsumers {
		return hostMSA
	}
	if u := s.dir.user(loginHint); u != nil && u.tenant.personal && f.kind == flowAuthorize && f.auth.kind == akCommon {
		return hostMSA
	}
	dom := domainHint
	if i := strings.LastIndex(loginHint, "@"); i >= 0 && dom == "" {
		dom = loginHint[i+1:]
	}
	if t := s.dir.federatedTenant(dom); t != nil && f.auth.kind != akConsumers && (f.auth.tenant == nil || f.auth.tenant == t) {
		return hostIdP
	}
	return ""
}

// serveMSAAuthorize is the Microsoft account host's sign-in page for a flow
// the login host handed over (prompt=none is answered from this host's own
// session cookie, as login.live.com's).
func (s *Sim) serveMSAAuthorize(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointLogin, "")
	q := r.URL.Query()
	f, ok := s.flows.get(q.Get("ctx"))
	if !ok || s.Now().UnixNano() > f.expires {
		s.showErrorOn(w, r, hostMSA, errFlowExpired())
		return
	}
	f.mu.Lock()
	f.host = hostMSA
	f.mu.Unlock()
	if f.prompt == "none" {
		s.silent(w, r, f, q.Get("username"))
		return
	}
	s.showSignIn(w, r, f, q.Get("username"), nil)
}

// serveMSALogin is the Microsoft account host's sign-in form. It knows
// personal accounts only: a work account typed here is "not a Microsoft
// account" (AADSTS500208 on the way back, as for /consumers).
func (s *Sim) serveMSALogin(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointLogin, "")
	f, e := s.flowFromForm(w, r)
	if e != nil {
		s.showErrorOn(w, r, hostMSA, e)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	u := s.dir.user(login)
	if u == nil {
		s.showSignIn(w, r, f, login, &aadError{desc: "That Microsoft account doesn't exist. Enter a different account or get a new one."})
		return
	}
	if !u.tenant.personal {
		s.showSignIn(w, r, f, login, errAccountType())
		return
	}
	if e := checkAccount(f.app, f.auth, u); e != nil {
		s.showSignIn(w, r, f, login, e)
		return
	}
	s.signedIn(w, r, f, u)
}

// serveIdPSignIn is the organisation's own sign-in page (AD FS).
func (s *Sim) serveIdPSignIn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, ok := s.flows.get(q.Get("wctx"))
	if !ok || s.Now().UnixNano() > f.expires || q.Get("wa") != "wsignin1.0" {
		s.showErrorOn(w, r, hostIdP, &aadError{desc: "An error occurred. Contact your administrator for more information."})
		return
	}
	f.mu.Lock()
	f.host = hostIdP
	f.mu.Unlock()
	s.showSignIn(w, r, f, q.Get("username"), nil)
}

// serveIdPLogin signs a federated user in at their IdP and sends the
// browser back to the login host with a single-use assertion (AD FS posts a
// signed WS-Federation token; a short-lived handle stands for it here).
func (s *Sim) serveIdPLogin(w http.ResponseWriter, r *http.Request) {
	f, e := s.flowFromForm(w, r)
	if e != nil {
		s.showErrorOn(w, r, hostIdP, e)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	u := s.dir.user(login)
	if u == nil || !u.federated() {
		s.showSignIn(w, r, f, login, &aadError{desc: "Incorrect user ID or password. Type the correct user ID and password, and try again."})
		return
	}
	now := s.Now()
	a := &assertion{flowID: f.id, user: u, expires: now.Add(5 * time.Minute).UnixNano()}
	handle := newToken("", 32)
	s.asserts.put(handle, a, now.UnixNano())
	http.Redirect(w, r, appendQuery(f.loginBase+fedReturnPath, "wa", "wsignin1.0", "wresult", handle, "wctx", f.id), http.StatusFound)
}

// assertion is what the IdP vouched for: this user, for this flow, once.
type assertion struct {
	flowID  string
	user    *user
	expires int64
}

func (a *assertion) purgeAt() int64 { return a.expires }

// serveFederationReturn is the login host taking the person back from their
// IdP: the assertion must be fresh, unused and for this flow.
func (s *Sim) serveFederationReturn(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointLogin, "")
	q := r.URL.Query()
	handle := q.Get("wresult")
	a, ok := s.asserts.get(handle)
	s.asserts.del(handle)
	f, fok := s.flows.get(q.Get("wctx"))
	now := s.Now().UnixNano()
	if !ok || !fok || a.flowID != f.id || now > a.expires || now > f.expires {
		s.showError(w, r, errFlowExpired())
		return
	}
	f.mu.Lock()
	f.host = hostLogin
	f.mu.Unlock()
	if e := checkAccount(f.app, f.auth, a.user); e != nil {
		s.showSignIn(w, r, f, a.user.UPN, e)
		return
	}
	s.signedIn(w, r, f, a.user)
}

// federated reports whether the user's UPN is in a federated domain of
// their tenant.
func (u *user) federated() bool {
	i := strings.LastIndex(u.UPN, "@")
	if i < 0 {
		return false
	}
	return slices.Contains(u.tenant.federated, strings.ToLower(u.UPN[i+1:]))
}

// federatedTenant is the tenant whose federated domain dom is, or nil.
func (d *directory) federatedTenant(dom string) *tenant {
	t := d.tenant(dom)
	if t == nil {
		return nil
	}
	if slices.Contains(t.federated, strings.ToLower(dom)) {
		return t
	}
	return nil
}

// onHost is the host showing the flow's pages now.
func (f *flow) onHost() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.host
}

// flowAction is where the flow's forms post to on the host showing them.
func flowAction(f *flow, step string) string {
	host := f.onHost()
	switch {
	case host == hostMSA && step == "login":
		return msaPostPath
	case host == hostMSA:
		return msaConsentPath
	case host == hostIdP:
		return idpPath
	}
	return "/" + url.PathEscape(f.auth.raw) + "/" + step
}
