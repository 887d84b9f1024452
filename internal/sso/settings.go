package sso

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Settings is what the Single sign-on page shows.
type Settings struct {
	Links      []store.SSOLink
	Rules      []store.SSORule
	Projects   []store.Project
	RequireSSO bool
}

// ErrNotAdmin: only a tenant admin changes single sign-on.
var ErrNotAdmin = errors.New("sso: only a tenant admin may change single sign-on")

// ErrInvalid: the form says why.
var ErrInvalid = errors.New("sso: invalid input")

// Settings reads the tenant's single sign-on settings.
func (s *Service) Settings(ctx context.Context, a Actor) (Settings, error) {
	if a.Role != store.RoleAdmin {
		return Settings{}, ErrNotAdmin
	}
	var out Settings
	var err error
	if out.Links, err = s.Store.SSOLinks(ctx, a.TenantID); err != nil {
		return out, err
	}
	if out.Rules, err = s.Store.SSORules(ctx, a.TenantID); err != nil {
		return out, err
	}
	if out.Projects, err = s.Store.ListProjects(ctx, a.TenantID); err != nil {
		return out, err
	}
	out.RequireSSO, err = s.Store.RequireSSO(ctx, a.TenantID)
	return out, err
}

// RuleForm is a new rule as typed; Errors says what is wrong, per field.
type RuleForm struct {
	Claim      string
	Value      string
	Role       string
	ProjectIDs []string
	Errors     map[string]string
}

func (f *RuleForm) fail(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

// AddRule validates and stores a rule. ErrInvalid means f.Errors says why.
func (s *Service) AddRule(ctx context.Context, a Actor, f *RuleForm) (store.SSORule, error) {
	if a.Role != store.RoleAdmin {
		return store.SSORule{}, ErrNotAdmin
	}
	f.Value = strings.TrimSpace(f.Value)
	switch f.Claim {
	case store.SSOClaimGroup:
		if !oauth.IsGUID(f.Value) {
			f.fail("value", "A group is named by its object ID, a GUID such as 0f3c6a4e-…; Microsoft sends IDs, not names, in the groups claim.")
		} else {
			f.Value = strings.ToLower(f.Value)
		}
	case store.SSOClaimRole:
		if f.Value == "" || len(f.Value) > 200 || strings.ContainsAny(f.Value, " \t\r\n") {
			f.fail("value", "Enter the app role's value as defined on the app registration (no spaces, up to 200 characters).")
		}
	default:
		f.fail("claim", "Choose group or app role.")
	}
	if f.Value == "" {
		f.fail("value", "Enter a group object ID or an app role value.")
	}
	if f.Role != store.RoleAdmin && f.Role != store.RoleMember {
		f.fail("role", "Choose admin or member.")
	}
	if len(f.Errors) > 0 {
		return store.SSORule{}, ErrInvalid
	}
	r, err := s.Store.AddSSORule(ctx, store.SSORule{TenantID: a.TenantID, Claim: f.Claim, Value: f.Value, Role: f.Role, ProjectIDs: f.ProjectIDs})
	switch {
	case errors.Is(err, store.ErrConflict):
		f.fail("value", "There is already a rule for this "+map[string]string{"group": "group", "role": "app role"}[f.Claim]+".")
		return r, ErrInvalid
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
		f.fail("projects", "Choose projects of this tenant.")
		return r, ErrInvalid
	case err != nil:
		return r, fmt.Errorf("sso: add rule: %w", err)
	}
	s.audit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID, ActorLabel: a.Email,
		Action: "sso.rule_added", Details: map[string]any{"claim": r.Claim, "value": r.Value, "role": r.Role, "project_ids": r.ProjectIDs}})
	return r, nil
}

// DeleteRule removes a rule; what it granted stays granted.
func (s *Service) DeleteRule(ctx context.Context, a Actor, id string) error {
	if a.Role != store.RoleAdmin {
		return ErrNotAdmin
	}
	if !oauth.IsGUID(id) {
		return store.ErrNotFound
	}
	if err := s.Store.DeleteSSORule(ctx, a.TenantID, id); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID, ActorLabel: a.Email,
		Action: "sso.rule_deleted", Details: map[string]any{"rule_id": id}})
	return nil
}

// Unlink removes a linked Entra tenant.
func (s *Service) Unlink(ctx context.Context, a Actor, entraTenantID string) error {
	if a.Role != store.RoleAdmin {
		return ErrNotAdmin
	}
	if !oauth.IsGUID(entraTenantID) {
		return store.ErrNotFound
	}
	if err := s.Store.DeleteSSOLink(ctx, a.TenantID, entraTenantID); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID, ActorLabel: a.Email,
		Action: "sso.unlinked", Details: map[string]any{"entra_tenant_id": strings.ToLower(entraTenantID)}})
	return nil
}

// ErrNoLink: requiring SSO with no linked Entra tenant would lock everyone
// but the break-glass accounts out.
var ErrNoLink = errors.New("sso: no linked Entra tenant")

// SetRequire turns "require single sign-on" on or off.
func (s *Service) SetRequire(ctx context.Context, a Actor, on bool) error {
	if a.Role != store.RoleAdmin {
		return ErrNotAdmin
	}
	if on {
		links, err := s.Store.SSOLinks(ctx, a.TenantID)
		if err != nil {
			return err
		}
		if len(links) == 0 {
			return ErrNoLink
		}
	}
	if err := s.Store.SetRequireSSO(ctx, a.TenantID, on); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID, ActorLabel: a.Email,
		Action: "sso.require_changed", Details: map[string]any{"require_sso": on}})
	return nil
}
