package mssim

import (
	"net/http"
	"strings"
)

// serveAdminConsent is GET /{tenant}/v2.0/adminconsent: an admin signs in and
// consents, for the whole tenant, to everything the app is configured for.
// Success: admin_consent=True&tenant=…&scope=…&state=…; Cancel:
// error=consent_required with AADSTS65004. Never on common or consumers.
func (s *Sim) serveAdminConsent(w http.ResponseWriter, r *http.Request) {
	s.counts.inc(EndpointAdminConsent, "")
	s.counts.incClient(r.URL.Query().Get("client_id"), EndpointAdminConsent, "")
	a, err := s.parseAuthority(r.PathValue("tenant"))
	if err == nil && (a.kind == akCommon || a.kind == akConsumers) {
		err = newErr(400, "invalid_request", 90130, "Admin consent is not supported over the /common or /consumers endpoints. Use the /organizations or tenant-specific endpoint.")
	}
	if err != nil {
		s.showError(w, r, err)
		return
	}
	q := r.URL.Query()
	f, perr := s.startFlow(r, q, flowAdminConsent)
	if perr != nil {
		s.showError(w, r, perr)
		return
	}
	if s.faults.enabled() {
		if ft, ok := s.faults.match(EndpointAdminConsent, "", f.app.clientID, nil); ok {
			ft.wait(r.Context())
			if ft.failing() {
				s.redirectError(w, r, f, ft.loginError())
				return
			}
		}
	}
	f.scopeParam = q.Get("scope")
	if strings.TrimSpace(f.scopeParam) == "" {
		s.redirectError(w, r, f, errMissingParam("scope"))
		return
	}
	switch p := s.parse(f.scopeParam); {
	case p.badRes != "":
		// Another resource, or another cloud's Graph (cloud.go): the
		// resource principal does not exist here, AADSTS500011.
		s.redirectError(w, r, f, errResourceNotFound(p.badRes, f.auth.dirName()))
		return
	case p.badScope != "":
		s.redirectError(w, r, f, errInvalidScope(p.badScope))
		return
	}
	s.flows.put(f.id, f, s.Now().UnixNano())
	if s.hintedHost(f, q.Get("login_hint"), q.Get("domain_hint")) == hostIdP {
		s.toIdP(w, r, f, q.Get("login_hint"))
		return
	}
	s.showSignIn(w, r, f, q.Get("login_hint"), nil)
}

// afterAdminSignIn shows the admin consent page, or tells the app that the
// account is no admin (AADSTS90094).
func (s *Sim) afterAdminSignIn(w http.ResponseWriter, r *http.Request, f *flow, u *user) {
	if !u.Admin {
		s.redirectError(w, r, f, newErr(400, "consent_required", 90094, "Admin consent is required for the permissions requested by this application. An admin consent request may be sent to the admin."))
		return
	}
	s.showConsent(w, f, u, f.app.scopes|f.app.perms)
}

func (s *Sim) finishAdminConsent(w http.ResponseWriter, r *http.Request, f *flow, u *user, cancel bool) {
	if cancel {
		s.redirectError(w, r, f, newErr(400, "consent_required", 65004, "User declined to consent to access the app."))
		return
	}
	t := u.tenant
	s.dir.recordAdminConsent(t, f.app)
	s.flows.del(f.id)
	granted := s.scopeString((f.app.scopes | f.app.perms).resource())
	http.Redirect(w, r, appendQuery(f.redirectURI, "admin_consent", "True", "tenant", t.id, "scope", granted, "state", f.state), http.StatusFound)
}
