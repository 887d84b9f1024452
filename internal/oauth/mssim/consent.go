package mssim

import (
	"fmt"
	"strings"
)

// tenantGrant is what an admin granted an app in one tenant: delegated scopes
// for every user, and application roles for client credentials. Its presence
// also means the app has a service principal there.
type tenantGrant struct {
	delegated scopeSet
	roles     scopeSet
}

func grantKey(tenantID, clientID string) string { return tenantID + "|" + strings.ToLower(clientID) }

// GrantAdminConsent consents, as the tenant's admin, to delegated scopes for
// every user of the tenant. No scopes means the app's configured ones, as
// consenting to .default does.
func (s *Sim) GrantAdminConsent(tenantRef, clientID string, scopes ...string) error {
	return s.updateTenantGrant(tenantRef, clientID, scopes, func(p perm) bool { return p.delegated },
		func(g *tenantGrant, a *app, set scopeSet, all bool) {
			if all {
				set = a.scopes
			}
			g.delegated |= set
		})
}

// GrantAppRoles grants application permissions (roles) to an app in a
// tenant. No roles means the app's configured AppPermissions.
func (s *Sim) GrantAppRoles(tenantRef, clientID string, roles ...string) error {
	return s.updateTenantGrant(tenantRef, clientID, roles, func(p perm) bool { return p.application },
		func(g *tenantGrant, a *app, set scopeSet, all bool) {
			if all {
				set = a.perms
			}
			g.roles |= set
		})
}

// RevokeAdminConsent removes the app's admin consent and roles in a tenant.
func (s *Sim) RevokeAdminConsent(tenantRef, clientID string) error {
	return s.updateTenantGrant(tenantRef, clientID, nil, nil, func(g *tenantGrant, _ *app, _ scopeSet, _ bool) {
		*g = tenantGrant{}
	})
}

func (s *Sim) updateTenantGrant(tenantRef, clientID string, names []string, ok func(perm) bool,
	update func(*tenantGrant, *app, scopeSet, bool)) error {
	var set scopeSet
	if ok != nil {
		var err error
		if set, err = catalogSet(names, ok); err != nil {
			return fmt.Errorf("mssim: grant %s in %s: %w", clientID, tenantRef, err)
		}
	}
	t, a := s.dir.tenant(tenantRef), s.dir.app(clientID)
	if t == nil || t.personal {
		return fmt.Errorf("mssim: grant %s: unknown work tenant %q", clientID, tenantRef)
	}
	if a == nil {
		return fmt.Errorf("mssim: grant: unknown app %q", clientID)
	}
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	key := grantKey(t.id, a.clientID)
	g := d.adminGrants[key]
	if g == nil {
		g = &tenantGrant{}
		d.adminGrants[key] = g
	}
	update(g, a, set, len(names) == 0)
	return nil
}

// tenantGrantOf returns a copy of the app's grant in t, and whether the app
// has a service principal there (its home tenant, or someone consented).
func (d *directory) tenantGrantOf(t *tenant, a *app) (tenantGrant, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	g := d.adminGrants[grantKey(t.id, a.clientID)]
	if g == nil {
		return tenantGrant{}, a.home == t
	}
	return *g, true
}

// adminOnly is the part of set that needs an admin's consent in t.
func adminOnly(t *tenant, set scopeSet) scopeSet {
	if t.personal {
		return 0
	}
	var out scopeSet
	for v := uint64(set.resource()); v != 0; v &= v - 1 {
		bit := scopeSet(v & -v)
		p := bit.perms()[0]
		if p.adminOnly {
			out |= bit
			continue
		}
		for _, rule := range t.adminOnly {
			if strings.EqualFold(p.name, rule) || strings.HasPrefix(rule, ".") && strings.HasSuffix(strings.ToLower(p.name), strings.ToLower(rule)) {
				out |= bit
			}
		}
	}
	return out
}

// consented is what u has already agreed to for a: their own consents plus
// the tenant admin's.
func (d *directory) consented(u *user, a *app) scopeSet {
	g, _ := d.tenantGrantOf(u.tenant, a)
	d.mu.RLock()
	defer d.mu.RUnlock()
	return g.delegated | d.consents[u.ObjectID+"|"+strings.ToLower(a.clientID)]
}

// recordConsent remembers what u agreed to on the consent page; consenting
// also creates the app's service principal in a work tenant.
func (d *directory) recordConsent(u *user, a *app, set scopeSet) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.consents[u.ObjectID+"|"+strings.ToLower(a.clientID)] |= set
	if !u.tenant.personal {
		key := grantKey(u.tenant.id, a.clientID)
		if d.adminGrants[key] == nil {
			d.adminGrants[key] = &tenantGrant{}
		}
	}
}

// recordAdminConsent is the admin consent endpoint's effect: everything the
// app is configured for, delegated and application, in t.
func (d *directory) recordAdminConsent(t *tenant, a *app) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := grantKey(t.id, a.clientID)
	g := d.adminGrants[key]
	if g == nil {
		g = &tenantGrant{}
		d.adminGrants[key] = g
	}
	g.delegated |= a.scopes
	g.roles |= a.perms
}
