package sso

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Callback is what Microsoft redirected back with.
type Callback struct {
	State, Code, Error, ErrorDescription string
}

// Problem is a refusal to show the person: a title, what happened and what
// to do. Cause is logged, never shown.
type Problem struct {
	Status         int
	Title, Message string
	Cause          error
}

func (p *Problem) Error() string {
	if p.Cause != nil {
		return "sso: " + p.Title + ": " + p.Cause.Error()
	}
	return "sso: " + p.Title
}

// Result is a finished flow.
type Result struct {
	Kind     string
	TenantID string
	UserID   string
	Email    string
	Created  bool   // login: a new broker user
	Role     string // login: the role after rules
	Entra    string // link: the Entra tenant ID linked
	Next     string
}

// Finish checks Microsoft's answer against the flow and acts on it.
func (s *Service) Finish(ctx context.Context, f Flow, a Actor, cb Callback) (Result, error) {
	if f.State == "" || subtle.ConstantTimeCompare([]byte(f.State), []byte(cb.State)) != 1 {
		return Result{}, &Problem{Status: 400, Title: "This sign-in link is no longer valid",
			Message: "It has expired, was already used, or was started in another browser. Nothing was changed. Start again."}
	}
	if time.Unix(f.Started, 0).Add(FlowTTL).Before(s.now()) {
		return Result{}, &Problem{Status: 400, Title: "This sign-in took too long",
			Message: "More than 10 minutes passed at Microsoft. Nothing was changed. Start again."}
	}
	if f.Kind != KindLogin {
		if a.UserID == "" || a.UserID != f.UserID || a.TenantID != f.TenantID || !bytes.Equal(a.SessionHash, f.SessionHash) {
			return Result{}, &Problem{Status: 403, Title: "Your session changed",
				Message: "This confirmation was started by another session. Nothing was changed. Start again from the broker."}
		}
	}
	if cb.Error != "" {
		return Result{}, &Problem{Status: 400, Title: "Microsoft did not sign you in",
			Message: "Microsoft answered: " + firstLine(cb.ErrorDescription) + " Nothing was changed.",
			Cause:   fmt.Errorf("authorize error %s", cb.Error)}
	}
	if cb.Code == "" {
		return Result{}, &Problem{Status: 400, Title: "Microsoft did not sign you in", Message: "Microsoft sent no authorization code. Start again."}
	}
	tok, err := s.Provider.Exchange(ctx, f.Authority, cb.Code, f.Verifier)
	if err != nil {
		return Result{}, &Problem{Status: 502, Title: "Microsoft did not complete the sign-in",
			Message: "Redeeming the sign-in at Microsoft failed. Nothing was changed. Try again." + aadCode(err), Cause: err}
	}
	claims, err := s.Provider.VerifyIDToken(ctx, f.Authority, tok.IDToken, f.Nonce)
	if err != nil {
		return Result{}, &Problem{Status: 400, Title: "The sign-in could not be verified",
			Message: "Microsoft's answer did not pass the broker's checks (signature, issuer, audience or nonce). Nothing was changed.", Cause: err}
	}
	if claims.ObjectID == "" || !oauth.IsGUID(claims.TenantID) {
		return Result{}, &Problem{Status: 400, Title: "The sign-in could not be verified", Message: "Microsoft's answer names no account."}
	}
	switch f.Kind {
	case KindLogin:
		return s.login(ctx, f, claims)
	case KindLink:
		return s.link(ctx, f, a, claims)
	case KindReauth:
		return s.reauth(ctx, f, a, claims)
	}
	return Result{}, fmt.Errorf("sso: unknown flow kind %q", f.Kind)
}

func aadCode(err error) string {
	var e *oauth.Error
	if errors.As(err, &e) && len(e.ErrorCodes) > 0 {
		return fmt.Sprintf(" (AADSTS%d)", e.ErrorCodes[0])
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		return "no reason given."
	}
	return s
}

// login signs an Entra account in: its tid names the linked tenant, tid+oid
// the user (created on first sign-in); rules then set role and projects.
func (s *Service) login(ctx context.Context, f Flow, c *oauth.IDClaims) (Result, error) {
	tenantID, err := s.Store.SSOTenantOf(ctx, c.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, &Problem{Status: 403, Title: "Your organisation is not set up for this broker",
			Message: "You signed in as " + username(c) + ", whose Microsoft Entra tenant (" + c.TenantID + ") is not linked to any tenant here. " +
				"Ask an administrator of your broker tenant to link it under Single sign-on, or sign in with the account they gave you."}
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Kind: KindLogin, TenantID: tenantID, Next: f.Next}
	u, err := s.Store.UserBySSOIdentity(ctx, tenantID, c.TenantID, c.ObjectID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if u, err = s.createUser(ctx, tenantID, c); err != nil {
			return Result{}, err
		}
		res.Created = true
	case err != nil:
		return Result{}, err
	}
	role, err := s.applyRules(ctx, u, c)
	if err != nil {
		return Result{}, err
	}
	res.UserID, res.Email, res.Role = u.ID, u.Email, role
	return res, nil
}

func username(c *oauth.IDClaims) string {
	switch {
	case c.PreferredUsername != "":
		return c.PreferredUsername
	case c.Email != "":
		return c.Email
	}
	return "an account"
}

// createUser adds the account as a member with no projects. Its broker
// email is the account's sign-in name; an address another account holds is
// refused, never merged: tid+oid is the identity, not the email.
func (s *Service) createUser(ctx context.Context, tenantID string, c *oauth.IDClaims) (store.User, error) {
	email := username(c)
	if !strings.Contains(email, "@") {
		return store.User{}, &Problem{Status: 400, Title: "Your account has no sign-in name",
			Message: "Microsoft did not send a sign-in name (the profile permission) for your account, so no broker account can be made."}
	}
	// No password signs in to this account: a random one, hashed and forgotten.
	hash, err := auth.HashPassword(auth.GeneratePassword())
	if err != nil {
		return store.User{}, fmt.Errorf("sso: create user: %w", err)
	}
	u, err := s.Store.CreateUser(ctx, tenantID, email, hash, store.RoleMember, nil)
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, &Problem{Status: 409, Title: "This address belongs to another broker account",
			Message: "A broker account with the address " + email + " exists, and it is not this Microsoft account. " +
				"Accounts are matched by their Microsoft identity, never by address alone. Ask your administrator.", Cause: err}
	}
	if err != nil {
		return store.User{}, err
	}
	if err := s.Store.AddSSOIdentity(ctx, tenantID, u.ID, c.TenantID, c.ObjectID); err != nil {
		return store.User{}, fmt.Errorf("sso: tie user to account: %w", err)
	}
	s.audit(ctx, store.AuditEvent{TenantID: tenantID, ActorType: "user", ActorID: u.ID, ActorLabel: u.Email,
		Action: "user.created_by_sso", Details: map[string]any{"entra_tenant_id": c.TenantID, "entra_object_id": c.ObjectID}})
	return u, nil
}

// link records the Entra tenant of the admin's Microsoft sign-in.
func (s *Service) link(ctx context.Context, f Flow, a Actor, c *oauth.IDClaims) (Result, error) {
	if a.Role != store.RoleAdmin {
		return Result{}, &Problem{Status: 403, Title: "Only an administrator can link", Message: "Your role changed. Nothing was linked."}
	}
	_, err := s.Store.AddSSOLink(ctx, store.SSOLink{EntraTenantID: c.TenantID, TenantID: a.TenantID, VerifiedBy: a.UserID,
		VerifiedUPN: username(c), VerifiedOID: c.ObjectID})
	if errors.Is(err, store.ErrConflict) {
		return Result{}, &Problem{Status: 409, Title: "This Entra tenant is already linked",
			Message: "Microsoft Entra tenant " + c.TenantID + " is already linked to this or another broker tenant. An Entra tenant can sign in to one broker tenant only."}
	}
	if err != nil {
		return Result{}, err
	}
	// The linking admin is that account from now on (unless it or they are
	// already someone's), so they can sign in with Microsoft too.
	if _, _, err := s.Store.SSOIdentityOf(ctx, a.TenantID, a.UserID); errors.Is(err, store.ErrNotFound) {
		if err := s.Store.AddSSOIdentity(ctx, a.TenantID, a.UserID, c.TenantID, c.ObjectID); err != nil && !errors.Is(err, store.ErrConflict) {
			return Result{}, err
		}
	}
	s.audit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID, ActorLabel: a.Email,
		Action: "sso.linked", Details: map[string]any{"entra_tenant_id": c.TenantID, "verified_by_upn": username(c)}})
	return Result{Kind: KindLink, TenantID: a.TenantID, UserID: a.UserID, Entra: c.TenantID, Next: f.Next}, nil
}

// reauth accepts a fresh credential entry by the session's own account:
// auth_time (asked for with max_age) must be after the flow started.
func (s *Service) reauth(ctx context.Context, f Flow, a Actor, c *oauth.IDClaims) (Result, error) {
	tid, oid, err := s.Store.SSOIdentityOf(ctx, a.TenantID, a.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	if !strings.EqualFold(tid, c.TenantID) || !strings.EqualFold(oid, c.ObjectID) {
		return Result{}, &Problem{Status: 403, Title: "That is another Microsoft account",
			Message: "You confirmed as " + username(c) + ", which is not the account you are signed in with. Nothing was confirmed."}
	}
	started := time.Unix(f.Started, 0)
	if c.AuthTime == 0 || time.Unix(c.AuthTime, 0).Before(started.Add(-Skew)) {
		return Result{}, &Problem{Status: 403, Title: "Microsoft did not ask for your credentials",
			Message: "The confirmation must be a fresh sign-in, but Microsoft reported an earlier one (auth_time). Nothing was confirmed. " +
				"If this repeats, ask your administrator to add the auth_time optional claim to the broker's app registration.",
			Cause: fmt.Errorf("auth_time %d before flow start %d", c.AuthTime, f.Started)}
	}
	return Result{Kind: KindReauth, TenantID: a.TenantID, UserID: a.UserID, Next: f.Next}, nil
}

func (s *Service) audit(ctx context.Context, ev store.AuditEvent) {
	if err := s.Store.AppendAudit(ctx, ev); err != nil && s.Logger != nil {
		s.Logger.Error("append audit event", "action", ev.Action, "err", err)
	}
}
