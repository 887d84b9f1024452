package mssim

import "strings"

// authorityKind is what the {tenant} path segment names.
type authorityKind int

const (
	akCommon        authorityKind = iota // any account the app accepts
	akOrganizations                      // work and school accounts only
	akConsumers                          // personal accounts only (also the consumers tenant's GUID)
	akTenant                             // one directory, by GUID or verified domain
)

type authority struct {
	kind   authorityKind
	raw    string  // the path segment as sent
	tenant *tenant // the consumers tenant for akConsumers; nil for common and organizations
}

// parseAuthority resolves the {tenant} path segment; an unknown tenant is
// AADSTS90002, as on the platform.
func (s *Sim) parseAuthority(raw string) (authority, *aadError) {
	switch strings.ToLower(raw) {
	case "common":
		return authority{kind: akCommon, raw: raw}, nil
	case "organizations":
		return authority{kind: akOrganizations, raw: raw}, nil
	case "consumers", ConsumersTenantID:
		return authority{kind: akConsumers, raw: raw, tenant: s.dir.tenant(ConsumersTenantID)}, nil
	}
	t := s.dir.tenant(raw)
	if t == nil {
		return authority{}, errTenantNotFound(raw)
	}
	return authority{kind: akTenant, raw: raw, tenant: t}, nil
}

// multiTenant reports whether the issuer template is {tenantid} here.
func (a authority) multiTenant() bool { return a.kind == akCommon || a.kind == akOrganizations }

// dirName names the authority's directory in messages.
func (a authority) dirName() string {
	if a.tenant != nil {
		return a.tenant.name
	}
	return a.raw
}

// same reports whether two authorities name the same thing.
func (a authority) same(b authority) bool {
	if a.kind != b.kind {
		return false
	}
	return a.kind != akTenant || a.tenant == b.tenant
}

// checkAppAuthority applies the app's supported account types to the
// authority, before anyone signs in. Entra shows these on its own page.
func checkAppAuthority(ap *app, a authority) *aadError {
	switch ap.audience {
	case AudienceMyOrg:
		switch {
		case a.kind == akCommon || a.kind == akOrganizations:
			return newErr(400, "invalid_request", 50194, "Application '%s'(%s) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", ap.clientID, ap.name)
		case a.tenant != ap.home:
			return errAppNotFound(ap.clientID, a.dirName())
		}
	case AudienceMultipleOrgs:
		if a.kind == akConsumers {
			return newErr(400, "invalid_request", 9002332, "Application '%s'(%s) is configured for use by Azure Active Directory users only. Please do not use the /consumers endpoint to serve this request.", ap.clientID, ap.name)
		}
	case AudiencePersonal:
		if a.kind == akOrganizations || a.kind == akTenant {
			return newErr(400, "invalid_request", 9002331, "Application '%s'(%s) is configured for use by Microsoft Account users only. Please use the /consumers endpoint to serve this request.", ap.clientID, ap.name)
		}
	}
	return nil
}

// checkAccount applies the authority's and the app's account rules to the
// account someone picked on the sign-in page.
func checkAccount(ap *app, a authority, u *user) *aadError {
	personal := u.tenant.personal
	switch {
	case a.kind == akOrganizations && personal, a.kind == akConsumers && !personal:
		return errAccountType()
	case a.kind == akTenant && u.tenant != a.tenant:
		return errForeignUser(ap, u, a.tenant.name)
	case personal && (ap.audience == AudienceMultipleOrgs || ap.audience == AudienceMyOrg):
		return errForeignUser(ap, u, "Microsoft Services")
	case !personal && ap.audience == AudiencePersonal:
		return errAccountType()
	case ap.audience == AudienceMyOrg && u.tenant != ap.home:
		return errForeignUser(ap, u, ap.home.name)
	}
	return nil
}

// checkGrantAuthority decides whether a refresh token may be redeemed at a.
func checkGrantAuthority(a authority, g *grant) *aadError {
	personal := g.user.tenant.personal
	switch {
	case a.kind == akOrganizations && personal, a.kind == akConsumers && !personal:
		return errAccountType().asGrant()
	case a.kind == akTenant && a.tenant != g.user.tenant:
		return errForeignUser(g.app, g.user, a.tenant.name).asGrant()
	}
	return nil
}

func errAccountType() *aadError {
	return newErr(400, "invalid_request", 500208, "The domain is not a valid login domain for the account type.")
}

func errForeignUser(ap *app, u *user, tenantName string) *aadError {
	idp := "live.com"
	if !u.tenant.personal {
		idp = "https://sts.windows.net/" + u.tenant.id + "/"
	}
	return newErr(400, "invalid_request", 50020, "User account '%s' from identity provider '%s' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.", u.UPN, idp, tenantName, ap.clientID, ap.name)
}

// asGrant turns a sign-in error into the token endpoint's invalid_grant.
func (e *aadError) asGrant() *aadError {
	c := *e
	c.err = "invalid_grant"
	return &c
}
