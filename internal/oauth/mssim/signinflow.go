package mssim

import (
	"net/http"
	"strings"
)

// flowFromForm finds the flow a sign-in or consent form belongs to.
func (s *Sim) flowFromForm(w http.ResponseWriter, r *http.Request) (*flow, *aadError) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	_ = r.ParseForm()
	f, ok := s.flows.get(r.PostForm.Get("ctx"))
	if !ok || s.Now().UnixNano() > f.expires {
		return nil, errFlowExpired()
	}
	return f, nil
}

// serveLogin is the sign-in form: the person typed or picked an account.
func (s *Sim) serveLogin(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointLogin, "")
	f, e := s.flowFromForm(w, r)
	if e != nil {
		s.showError(w, r, e)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	if login == "" {
		s.showSignIn(w, r, f, "", &aadError{desc: "Enter a valid email address, phone number, or Skype name."})
		return
	}
	u := s.dir.user(login)
	if u == nil {
		dir := f.auth.dirName()
		if i := strings.LastIndex(login, "@"); i >= 0 && !f.auth.multiTenant() {
			dir = login[i+1:]
		}
		s.showSignIn(w, r, f, login, newErr(400, "invalid_request", 50034, "The user account %s does not exist in the '%s' directory. To sign into this application, the account must be added to the directory.", login, dir))
		return
	}
	if e := checkAccount(f.app, f.auth, u); e != nil {
		s.showSignIn(w, r, f, login, e)
		return
	}
	switch {
	case u.tenant.personal:
		s.toMSA(w, r, f, u.UPN) // login.live.com signs personal accounts in
		return
	case u.federated():
		s.toIdP(w, r, f, u.UPN) // and an organisation's IdP its federated users
		return
	}
	s.signedIn(w, r, f, u)
}

// signedIn records a sign-in on the host that did it (a session cookie for
// prompt=none) and moves on to consent or admin consent.
func (s *Sim) signedIn(w http.ResponseWriter, r *http.Request, f *flow, u *user) {
	if e := caError(u); e != nil { // Conditional Access: Entra's own page, no redirect (conditional.go)
		s.showError(w, r, e)
		return
	}
	sess := &session{user: u, authSeq: s.seq.Add(1), authTime: s.Now()}
	sid := newToken("", 24)
	s.sessions.put(sid, sess, sess.authTime.UnixNano())
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})

	f.mu.Lock()
	f.user, f.sess = u, sess
	f.scopes = forAccount(u, f.scopes) // personal accounts: no .Shared (msa.go)
	f.mu.Unlock()
	if f.kind == flowAdminConsent {
		s.afterAdminSignIn(w, r, f, u)
		return
	}
	s.afterSignIn(w, r, f, u, sess)
}

// afterSignIn decides between the consent page and going straight back to
// the app. Admin-only scopes nobody with the right has consented to fail
// with consent_required (AADSTS65001).
func (s *Sim) afterSignIn(w http.ResponseWriter, r *http.Request, f *flow, u *user, sess *session) {
	consented := s.dir.consented(u, f.app)
	if adminOnly(u.tenant, f.scopes)&^consented != 0 && !u.Admin {
		s.redirectError(w, r, f, consentRequired(f.app))
		return
	}
	ask := f.scopes &^ consented
	if f.prompt == "consent" {
		ask = f.scopes
	}
	if ask == 0 {
		s.issueCode(w, r, f, sess, f.scopes)
		return
	}
	f.mu.Lock()
	f.ask = ask
	f.mu.Unlock()
	s.showConsent(w, f, u, ask)
}

func consentRequired(a *app) *aadError {
	e := errConsentMissing(a)
	e.err = "consent_required"
	return e
}

// serveConsent is the consent form: Accept with whichever boxes are still
// ticked, or Cancel.
func (s *Sim) serveConsent(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointConsent, "")
	f, e := s.flowFromForm(w, r)
	var (
		u    *user
		sess *session
		ask  scopeSet
	)
	if e == nil {
		f.mu.Lock()
		u, sess, ask = f.user, f.sess, f.ask
		f.mu.Unlock()
		if u == nil {
			e = errFlowExpired()
		}
	}
	if e != nil {
		s.showError(w, r, e)
		return
	}
	cancel := r.PostForm.Get("action") == "cancel"
	if f.kind == flowAdminConsent {
		s.finishAdminConsent(w, r, f, u, cancel)
		return
	}
	if cancel {
		s.redirectError(w, r, f, errUserDeclined(), "error_subcode", "cancel")
		return
	}
	var ticked scopeSet
	for _, v := range r.PostForm["scope"] {
		ticked |= s.parse(v).set
	}
	ticked &= ask
	granted := f.scopes&^ask | ticked
	if granted.resource() == 0 && !granted.has(scopeOpenID) {
		s.redirectError(w, r, f, errUserDeclined())
		return
	}
	s.dir.recordConsent(u, f.app, ticked)
	s.issueCode(w, r, f, sess, granted)
}

// silent answers prompt=none from the session cookie alone.
func (s *Sim) silent(w http.ResponseWriter, r *http.Request, f *flow, hint string) {
	var sess *session
	if c, err := r.Cookie(sessionCookie); err == nil {
		sess, _ = s.sessions.get(c.Value)
	}
	if sess == nil || hint != "" && !strings.EqualFold(hint, sess.user.UPN) {
		s.redirectError(w, r, f, newErr(400, "login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
		return
	}
	u := sess.user
	// max_age: a session whose credentials are older cannot answer
	// silently; the person must enter them again (OIDC Core 3.1.2.1, 3.1.2.6;
	// https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
	// Interactive sign-ins in the sim always ask for credentials, so prompt=login
	// and max_age are always met there and auth_time is that entry.
	if f.hasMaxAge && s.Now().Sub(sess.authTime) > f.maxAge {
		s.redirectError(w, r, f, newErr(400, "login_required", 50058, "A silent sign-in request was sent but the user's last sign-in is older than max_age."))
		return
	}
	f.scopes = forAccount(u, f.scopes) // the flow is not shared yet: no lock needed
	if e := checkAccount(f.app, f.auth, u); e != nil {
		e.err = "interaction_required"
		s.redirectError(w, r, f, e)
		return
	}
	if e := s.checkUserGrant(u, sess.authSeq, sess.authTime); e != nil {
		switch e.code {
		case 50076, 53003, 530003:
			e.err = "interaction_required"
		default:
			e = newErr(400, "login_required", 50133, "Session is invalid due to expiration or recent password change.")
		}
		s.redirectError(w, r, f, e)
		return
	}
	if f.scopes&^s.dir.consented(u, f.app) != 0 {
		s.redirectError(w, r, f, consentRequired(f.app))
		return
	}
	s.issueCode(w, r, f, sess, f.scopes)
}

// issueCode ends a flow: a single-use code, 10 minutes to live, bound to
// the redirect URI and PKCE challenge, sent back with state untouched.
func (s *Sim) issueCode(w http.ResponseWriter, r *http.Request, f *flow, sess *session, granted scopeSet) {
	now := s.Now()
	g := &grant{app: f.app, user: sess.user, scopes: granted, authSeq: sess.authSeq, authTime: sess.authTime}
	c := &authCode{g: g, issuedAt: f.auth, redirectURI: f.redirectURI, challenge: f.challenge,
		method: f.method, nonce: f.nonce, expires: now.Add(s.Lifetimes().Code).UnixNano()}
	code := newToken("1.AQsim", 48)
	s.codes.put(code, c, now.UnixNano())
	s.flows.del(f.id)
	sessionState := ""
	if !sess.user.tenant.personal {
		sessionState = newGUID()
	}
	http.Redirect(w, r, appendQuery(f.redirectURI, "code", code, "state", f.state, "session_state", sessionState), http.StatusFound)
}
