package sso

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// applyRules gives the user the role and projects of every rule their
// groups and app roles match: admin if any matching rule says admin, and
// the union of the projects (added to what they have). No match changes
// nothing, so a first sign-in stays a member with no projects. It returns
// the role after.
func (s *Service) applyRules(ctx context.Context, u store.User, c *oauth.IDClaims) (string, error) {
	rules, err := s.Store.SSORules(ctx, u.TenantID)
	if err != nil {
		return "", fmt.Errorf("sso: rules: %w", err)
	}
	if _, over := c.ClaimNames["groups"]; over && s.Logger != nil {
		// More than 200 groups: Microsoft left them out of the token. Group
		// rules cannot match; app roles still do.
		s.Logger.Warn("sso: groups overage in id_token: group rules not applied", "user_id", u.ID)
	}
	matched := Match(rules, c.Groups, c.Roles)
	if len(matched) == 0 {
		return u.Role, nil
	}
	role := store.RoleMember
	var projects []string
	for _, r := range matched {
		if r.Role == store.RoleAdmin {
			role = store.RoleAdmin
		}
		for _, p := range r.ProjectIDs {
			if !slices.Contains(projects, p) {
				projects = append(projects, p)
			}
		}
	}
	if u.Role == store.RoleAdmin {
		role = store.RoleAdmin // rules grant; an admin an admin made stays one
	}
	if err := s.Store.SetUserAccess(ctx, u.TenantID, u.ID, role, projects); err != nil {
		return "", fmt.Errorf("sso: apply rules: %w", err)
	}
	if role != u.Role {
		s.audit(ctx, store.AuditEvent{TenantID: u.TenantID, ActorType: "system", ActorLabel: "single sign-on rules",
			Action: "user.role_changed", Details: map[string]any{"user_id": u.ID, "from": u.Role, "to": role}})
	}
	return role, nil
}

// Match lists the rules the claims satisfy: a group rule by group object ID
// (case-insensitive GUID), a role rule by exact app role value.
func Match(rules []store.SSORule, groups, roles []string) []store.SSORule {
	var out []store.SSORule
	for _, r := range rules {
		switch r.Claim {
		case store.SSOClaimGroup:
			if slices.ContainsFunc(groups, func(g string) bool { return strings.EqualFold(g, r.Value) }) {
				out = append(out, r)
			}
		case store.SSOClaimRole:
			if slices.Contains(roles, r.Value) {
				out = append(out, r)
			}
		}
	}
	return out
}
