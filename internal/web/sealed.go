package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/brokerhq/broker/internal/store"
)

// sealedTTL bounds a sealed cookie: a round trip to Microsoft (sign-in,
// MFA) fits; a forgotten tab's state does not linger.
const sealedTTL = 15 * time.Minute

// SetSealed stores v in an encrypted, signed cookie for up to ttl (at most
// sealedTTL): state a round trip needs before anything is in the database,
// such as a sign-in's PKCE verifier and nonce. Its name gets the __Host-
// prefix over HTTPS, and SameSite=Lax lets Microsoft's redirect back carry it.
func (ui *UI) SetSealed(w http.ResponseWriter, name string, v any, ttl time.Duration) error {
	name = ui.sealedName(name)
	enc, err := securecookie.EncodeMulti(name, v, ui.sealed[0])
	if err != nil {
		return err
	}
	http.SetCookie(w, ui.sessions.cookie.make(name, enc, min(ttl, sealedTTL)))
	return nil
}

// ReadSealed opens the named sealed cookie into v; false if absent, expired
// or tampered with.
func (ui *UI) ReadSealed(r *http.Request, name string, v any) bool {
	name = ui.sealedName(name)
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	return securecookie.DecodeMulti(name, c.Value, v, ui.sealed...) == nil
}

// ClearSealed drops the named sealed cookie: state for one round trip is
// used once.
func (ui *UI) ClearSealed(w http.ResponseWriter, name string) {
	http.SetCookie(w, ui.sessions.cookie.make(ui.sealedName(name), "", -1))
}

func (ui *UI) sealedName(name string) string {
	if ui.sessions.cookie.secure {
		return "__Host-" + name
	}
	return name
}

// StartSession signs p in on a fresh session (dropping the request's
// current one), for sign-ins other than the password form.
func (ui *UI) StartSession(w http.ResponseWriter, r *http.Request, p Principal) error {
	if v := Viewer(r.Context()); v != nil {
		ui.sessions.End(r.Context(), w, v.Session)
	}
	return ui.sessions.Start(r.Context(), w, p)
}

// passwordAllowed refuses a right password when the user's tenant requires
// single sign-on, unless the operator named the address in
// BROKER_SSO_BREAK_GLASS. It is asked only after the password matched, so
// it tells nothing to someone who does not know it.
func (s *Server) passwordAllowed(w http.ResponseWriter, r *http.Request, u *store.User, ev store.AuditEvent, f *LoginForm) bool {
	required, err := s.store.RequireSSO(r.Context(), u.TenantID)
	if err != nil {
		s.ui.Fail(w, r, err)
		return false
	}
	if !required {
		return true
	}
	if slices.ContainsFunc(s.breakGlass, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), u.Email) }) {
		ev.Details["break_glass"] = true
		return true
	}
	ev.Action, ev.Reason = "user.sign_in_refused", "single sign-on required: password refused"
	s.audit(r, ev)
	f.FormError = "Your organisation signs in with Microsoft: use “Sign in with Microsoft” below. Passwords are turned off for its accounts."
	s.renderLogin(w, r, http.StatusForbidden, *f)
	return false
}
