package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/store"
)

// LoginForm is login.html's data. The password is never put back.
type LoginForm struct {
	Form
	Email string
	Next  string
}

// wrongCredentials is one message for unknown email and wrong password
// alike, so the form does not tell which addresses have accounts.
const wrongCredentials = "Email or password is wrong."

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := SafeNext(r.URL.Query().Get("next"))
	if Viewer(r.Context()) != nil {
		SeeOther(w, r, next)
		return
	}
	s.ui.Render(w, r, http.StatusOK, "login.html", Page{Title: "Sign in", Data: LoginForm{Next: next}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.ui.ErrorPage(w, r, http.StatusBadRequest, "The sign-in form could not be read. Please try again.")
		return
	}
	f := LoginForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: SafeNext(r.PostForm.Get("next"))}
	password := r.PostForm.Get("password")
	f.Check(f.Email != "", "email", "Enter your email address.")
	f.Check(len(f.Email) <= 254, "email", "That email address is too long.")
	f.Check(password != "", "password", "Enter your password.")
	if !f.Valid() {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, f)
		return
	}

	// Every branch below (no such account, a wrong, right or over-long
	// password, too many failures) does one lookup and one argon2id check
	// of the same cost, so the time to answer tells nothing about which.
	addr := s.clientIP(r)
	allowed, wait := s.limiter.Reserve(f.Email, addr)
	ctx := r.Context()
	p, err := s.store.PrincipalByEmail(ctx, f.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.ui.Fail(w, r, err)
		return
	}
	ev := store.AuditEvent{ActorType: "user", RequestID: RequestID(ctx), Details: map[string]any{"remote_addr": addr}}
	hash := s.standIn
	var who Principal
	switch {
	case p.User != nil:
		hash, who = p.User.PasswordHash, Principal{TenantID: p.User.TenantID, UserID: p.User.ID}
		ev.TenantID, ev.ActorID, ev.ActorLabel = p.User.TenantID, p.User.ID, p.User.Email
	case p.Operator != nil:
		hash, who = p.Operator.PasswordHash, Principal{OperatorID: p.Operator.ID}
		ev.ActorType, ev.ActorID, ev.ActorLabel = "operator", p.Operator.ID, p.Operator.Email
	default:
		// No account: record the attempt platform-wide without the typed
		// address (it may be a password).
		ev.Details["account"] = "unknown"
	}
	if !allowed {
		hash = s.standIn // refused: spend the same time, learn nothing
	}
	ok, err := auth.VerifyPassword(hash, password)
	if err != nil {
		s.ui.Log(r).Error("stored password hash is unusable", "actor_id", ev.ActorID, "err", err)
		auth.VerifyPassword(s.standIn, password)
	}
	if !allowed {
		s.ui.Log(r).Warn("sign-in refused: too many failures", "remote_addr", addr)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		f.FormError = fmt.Sprintf("Too many failed sign-in attempts. For your security, wait %s before trying again.", minutes(wait))
		s.renderLogin(w, r, http.StatusTooManyRequests, f)
		return
	}
	if !ok { // the reserved attempt stays counted as a failure
		ev.Action, ev.Reason = "user.sign_in_failed", "wrong email or password"
		s.audit(r, ev)
		f.FormError = wrongCredentials
		s.renderLogin(w, r, http.StatusUnauthorized, f)
		return
	}

	s.limiter.Succeed(f.Email, addr)
	if p.User != nil && !s.passwordAllowed(w, r, p.User, ev, &f) {
		return
	}
	if v := Viewer(ctx); v != nil { // signing in again replaces, never reuses, a session
		s.ui.sessions.End(ctx, w, v.Session)
	}
	if err := s.ui.sessions.Start(ctx, w, who); err != nil {
		s.ui.Fail(w, r, err)
		return
	}
	ev.Action = "user.signed_in"
	s.audit(r, ev)
	SeeOther(w, r, f.Next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := Viewer(ctx)
	if v == nil {
		s.ui.sessions.Clear(w)
		SeeOther(w, r, "/login")
		return
	}
	if err := s.ui.sessions.End(ctx, w, v.Session); err != nil {
		s.ui.Fail(w, r, err)
		return
	}
	ev := store.AuditEvent{TenantID: v.TenantID, ActorType: "user", ActorID: v.ID, ActorLabel: v.Email,
		Action: "user.signed_out", RequestID: RequestID(ctx)}
	if v.IsOperator {
		ev.ActorType = "operator"
	}
	s.audit(r, ev)
	s.ui.SetFlash(w, "info", "You have signed out.")
	SeeOther(w, r, "/login")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, f LoginForm) {
	s.ui.Render(w, r, status, "login.html", Page{Title: "Sign in", Data: f})
}

// audit records an event; a failure to record is logged, not shown, so an
// audit hiccup does not lock everyone out.
func (s *Server) audit(r *http.Request, ev store.AuditEvent) {
	if err := s.store.AppendAudit(r.Context(), ev); err != nil {
		s.ui.Log(r).Error("append audit event", "action", ev.Action, "err", err)
	}
}

// minutes renders a wait for people: "1 minute", "12 minutes".
func minutes(d time.Duration) string {
	m := int(math.Ceil(d.Minutes()))
	if m <= 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}
