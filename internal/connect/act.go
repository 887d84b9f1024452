package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
)

// NewForm is the form a session's page opens with: its name (or one made
// from the end user), the first allowed account and auth type, its scopes.
func NewForm(cs store.ConnectSession) *connections.Form {
	f := connections.NewForm([]connections.Project{{ID: cs.ProjectID}})
	f.Name = cs.ConnectionName
	if f.Name == "" {
		f.Name = "Outlook of " + firstOf(cs.EndUser.DisplayName, cs.EndUser.Email, cs.EndUser.ID)
		if len([]rune(f.Name)) > 100 {
			f.Name = string([]rune(f.Name)[:100])
		}
	}
	if len(cs.AllowedAccountTypes) > 0 && !slices.Contains(cs.AllowedAccountTypes, string(f.AccountType)) {
		f.AccountType = connections.AccountType(cs.AllowedAccountTypes[0])
	}
	if len(cs.AllowedAuthTypes) > 0 && !slices.Contains(cs.AllowedAuthTypes, string(f.AuthType)) {
		f.AuthType = connections.AuthType(cs.AllowedAuthTypes[0])
		if f.AuthType == connections.AuthClientCredentials {
			f.AccountType = connections.AccountTenant
		}
	}
	f.Scopes = sessionScopes(cs)
	return f
}

func sessionScopes(cs store.ConnectSession) []string {
	if len(cs.Scopes) > 0 {
		return slices.Clone(cs.Scopes)
	}
	return connections.DefaultScopes()
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// Allows reports whether the session offers an account or auth type
// (an empty list offers every one).
func Allows(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

// Submit validates the page's form under the session's limits and hands it
// to the same service the broker's New connection page uses. Project and
// scopes come from the session, never from the browser. ErrInvalid:
// f.Errors says why. A client credentials connection is finished at once.
func (s *Service) Submit(ctx context.Context, p Page, f *connections.Form, requestID string) (out connections.Outcome, err error) {
	cs := p.Session
	f.ProjectID, f.Scopes = cs.ProjectID, sessionScopes(cs)
	projects := []connections.Project{{ID: cs.ProjectID, TenantID: cs.TenantID}}
	check := *f
	check.Validate(projects, s.Now())
	errs := check.Errors
	if !Allows(cs.AllowedAccountTypes, string(f.AccountType)) {
		errs.Add(connections.FieldAccountType, "Choose one of the account types offered here.")
	}
	if !Allows(cs.AllowedAuthTypes, string(f.AuthType)) {
		errs.Add(connections.FieldAuthType, "Choose one of the authentication types offered here.")
	}
	if len(errs) > 0 {
		*f = check
		f.Errors = errs
		f.Clear()
		return connections.Outcome{}, connections.ErrInvalid
	}
	if cs.ConnectionName == "" && f.Name == NewForm(cs).Name {
		// The name the page suggested: the same end user connecting a second
		// mailbox gets "… (2)" rather than an error about a name they never chose.
		if f.Name, err = s.freeName(ctx, cs, f.Name); err != nil {
			return connections.Outcome{}, err
		}
	}
	out, err = s.Connections.Submit(ctx, s.Actor(cs, p.Binding, requestID), f)
	if err != nil || out.RedirectURL != "" {
		return out, err
	}
	s.finish(ctx, cs, "completed", out.Connection.ID, "")
	return out, nil
}

// Reconnect starts the sign-in of a reconnect session's connection.
func (s *Service) Reconnect(ctx context.Context, p Page, requestID string) (string, error) {
	return s.Connections.Reconnect(ctx, s.Actor(p.Session, p.Binding, requestID), p.Session.ReconnectConnectionID)
}

// Complete finishes a sign-in started from the page bound to b, and the
// session with it. A *connections.Problem fails the session, except a state
// problem (a callback that is not this sign-in's), which changes nothing.
func (s *Service) Complete(ctx context.Context, cs store.ConnectSession, b Binding, requestID string,
	params connections.CallbackParams) (connections.Result, error) {
	res, err := s.Connections.Complete(ctx, s.Actor(cs, b, requestID), true, params)
	var prob *connections.Problem
	switch {
	case errors.As(err, &prob):
		if prob.Kind != connections.ProblemState && prob.Kind != connections.ProblemSession {
			s.finish(ctx, cs, "failed", "", prob.Title)
		}
		return res, err
	case err != nil:
		return res, err
	case res.ConnectSessionID != cs.ID:
		return res, fmt.Errorf("connect: the sign-in was started by session %q, not %q", res.ConnectSessionID, cs.ID)
	}
	s.finish(ctx, cs, "completed", res.Connection.ID, "")
	return res, nil
}

// finish records the outcome; a session finished meanwhile keeps its own.
func (s *Service) finish(ctx context.Context, cs store.ConnectSession, status, connID, reason string) {
	ok, err := s.Store.FinishConnectSession(ctx, cs.TenantID, cs.ID, status, connID, reason, s.Now())
	if err != nil {
		s.Logger.ErrorContext(ctx, "connect session outcome not written", "connect_session", cs.ID, "err", err)
		return
	}
	if ok {
		s.audit(ctx, Creator{TenantID: cs.TenantID, KeyID: cs.CreatedByKey, Label: cs.CreatedByLabel}, "connect_session."+status,
			store.ConnectSession{ID: cs.ID, EndUser: cs.EndUser, ProjectID: cs.ProjectID, ReconnectConnectionID: firstOf(connID, cs.ReconnectConnectionID)},
			map[string]any{"reason": reason})
	}
}

// Get reads a session the creator may see.
func (s *Service) Get(ctx context.Context, by Creator, id string) (store.ConnectSession, error) {
	cs, err := s.Store.ConnectSession(ctx, by.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !by.allows(cs.ProjectID) {
		return store.ConnectSession{}, ErrNotFound
	}
	if err != nil {
		return store.ConnectSession{}, fmt.Errorf("connect: get: %w", err)
	}
	return cs, nil
}

// Revoke ends a pending session at once: its link shows "revoked".
func (s *Service) Revoke(ctx context.Context, by Creator, id string) (store.ConnectSession, error) {
	if _, err := s.Get(ctx, by, id); err != nil {
		return store.ConnectSession{}, err
	}
	cs, err := s.Store.RevokeConnectSession(ctx, by.TenantID, id, s.Now())
	if err != nil {
		return store.ConnectSession{}, fmt.Errorf("connect: revoke: %w", err)
	}
	s.audit(ctx, by, "connect_session.revoked", cs, nil)
	return cs, nil
}

// freeName is name, or name with the first free " (n)" in the project.
func (s *Service) freeName(ctx context.Context, cs store.ConnectSession, name string) (string, error) {
	try := name
	for n := 2; n < 100; n++ {
		_, err := s.Store.ConnectionByName(ctx, cs.TenantID, cs.ProjectID, try)
		if errors.Is(err, store.ErrNotFound) {
			return try, nil
		}
		if err != nil {
			return "", fmt.Errorf("connect: free name: %w", err)
		}
		suffix := fmt.Sprintf(" (%d)", n)
		try = string([]rune(name)[:min(len([]rune(name)), 100-len(suffix))]) + suffix
	}
	return name, nil // let the form say the name is taken
}
