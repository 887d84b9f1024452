package connections

import (
	"github.com/brokerhq/broker/internal/oauth"

	"slices"
	"strings"
)

// Scope is a Graph permission the form offers.
type Scope struct {
	Name        string
	Description string
	// WorkOnly: personal Microsoft accounts cannot grant it (the Graph
	// permissions reference lists "Microsoft account supported: No" for
	// Mail.ReadWrite.Shared and Calendars.ReadWrite.Shared,
	// learn.microsoft.com/graph/permissions-reference). The same reference
	// marks both as not needing an administrator's consent.
	WorkOnly bool
}

// FixedScopes are always requested for authorization code connections,
// whatever is ticked: without them there is no /me check and no refresh token.
var FixedScopes = []Scope{
	{Name: "User.Read", Description: "Sign in and read the user's profile"},
	{Name: "offline_access", Description: "Keep access: lets the broker refresh tokens"},
}

// DelegatedScopes are the permissions an authorization code connection may
// ask for; the first five, with FixedScopes, are the default set.
var DelegatedScopes = []Scope{
	{Name: "Mail.Send", Description: "Send mail as the user"},
	{Name: "Mail.ReadWrite", Description: "Read and write the user's mail"},
	{Name: "Mail.ReadWrite.Shared", Description: "Read and write mail the user can access, including shared mailboxes", WorkOnly: true},
	{Name: "Calendars.ReadWrite", Description: "Read and write the user's calendars"},
	{Name: "Calendars.ReadWrite.Shared", Description: "Read and write calendars the user can access, including shared ones", WorkOnly: true},
	{Name: "Mail.Read", Description: "Read the user's mail"},
	{Name: "Calendars.Read", Description: "Read the user's calendars"},
	{Name: "Contacts.Read", Description: "Read the user's contacts"},
	{Name: "Contacts.ReadWrite", Description: "Read and write the user's contacts"},
}

// DefaultScopes are the delegated scopes ticked when the form opens.
func DefaultScopes() []string {
	out := make([]string, 0, 5)
	for _, s := range DelegatedScopes[:5] {
		out = append(out, s.Name)
	}
	return out
}

// ApplicationPermissions are what a client credentials app registration
// should be granted (as Application permissions); Mail.Read is the minimum.
var ApplicationPermissions = []Scope{
	{Name: "Calendars.Read", Description: "Read calendars in all mailboxes"},
	{Name: "Calendars.ReadWrite", Description: "Read and write calendars in all mailboxes"},
	{Name: "Contacts.Read", Description: "Read contacts in all mailboxes"},
	{Name: "Contacts.ReadWrite", Description: "Read and write contacts in all mailboxes"},
	{Name: "Mail.Read", Description: "Read mail in all mailboxes (the minimum)"},
	{Name: "Mail.ReadWrite", Description: "Read and write mail in all mailboxes"},
	{Name: "Mail.Send", Description: "Send mail as any user"},
}

// MinimumApplicationPermission is what the client credentials check needs.
const MinimumApplicationPermission = "Mail.Read"

// canonicalScope returns the offered scope's canonical spelling, or "".
func canonicalScope(name string) string {
	for _, list := range [][]Scope{FixedScopes, DelegatedScopes} {
		for _, s := range list {
			if strings.EqualFold(s.Name, name) {
				return s.Name
			}
		}
	}
	return ""
}

// requestedScopes is what a sign-in asks for: the ticked scopes in catalog
// order, then the fixed ones. openid and profile are added to the authorize
// request only; they are not permissions on Graph.
func requestedScopes(ticked []string) []string {
	var out []string
	for _, s := range DelegatedScopes {
		if containsFold(ticked, s.Name) {
			out = append(out, s.Name)
		}
	}
	for _, s := range FixedScopes {
		out = append(out, s.Name)
	}
	return out
}

// scopesFor drops from requested what the account type can never grant: a
// Consumer connection (personal accounts only) does not ask for WorkOnly
// permissions, which Microsoft would leave out anyway.
func scopesFor(at AccountType, requested []string) []string {
	if at != AccountConsumers {
		return requested
	}
	return slices.DeleteFunc(slices.Clone(requested), workOnly)
}

func workOnly(name string) bool {
	return slices.ContainsFunc(DelegatedScopes, func(s Scope) bool { return s.WorkOnly && strings.EqualFold(s.Name, name) })
}

// MissingFor is MissingScopes for the account that signed in: for a personal
// account (the consumers tenant, e.g. on a Common connection) the WorkOnly
// permissions it could never grant are listed apart, in personal, as
// expected rather than missing.
func MissingFor(requested, granted []string, accountTID string) (missing, personal []string) {
	for _, name := range MissingScopes(requested, granted) {
		if strings.EqualFold(accountTID, oauth.ConsumersTenantID) && workOnly(name) {
			personal = append(personal, name)
		} else {
			missing = append(missing, name)
		}
	}
	return missing, personal
}

// PersonalNote explains WorkOnly permissions a personal account did not grant.
func PersonalNote(personal []string) string {
	return strings.Join(personal, " and ") + " are not available to personal Microsoft accounts (outlook.com, hotmail.com, live.com), " +
		"so Microsoft does not grant them; the connection works without them."
}

// authorizeScopes is the scope parameter of the authorize request.
func authorizeScopes(requested []string) []string {
	return append(slices.Clone(requested), "openid", "profile")
}

// grantedScopes turns a token response's scope list into the names the
// broker asked for: the Graph resource prefix dropped, the catalog's case,
// OpenID Connect scopes left out. offline_access counts as granted when a
// refresh token came back, which is how the platform says it. An empty list
// means the platform granted what was asked (RFC 6749 §5.1).
func grantedScopes(requested, fromToken []string, gotRefreshToken bool) []string {
	out := oauth.GrantedScopes(requested, fromToken, gotRefreshToken)
	for i, name := range out { // catalog spelling for what was granted beyond the request
		if c := canonicalScope(name); c != "" {
			out[i] = c
		}
	}
	return out
}

// MissingScopes lists requested scopes that were not granted.
func MissingScopes(requested, granted []string) []string {
	var out []string
	for _, r := range requested {
		if !containsFold(granted, r) {
			out = append(out, r)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
