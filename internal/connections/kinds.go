// Package connections decides how an Outlook connection comes to life: the
// New connection form and its validation, the scopes to ask for, the
// authority each account type signs in at, the authorization code sign-in
// and its callback, client credentials, admin consent and reconnect. It never
// sees an *http.Request: internal/connweb parses and renders, this package
// decides, internal/store holds the SQL.
package connections

import (
	"strings"

	"github.com/brokerhq/broker/internal/oauth"
)

// AccountType is the "Connection account type" of the form.
type AccountType string

const (
	AccountCommon        AccountType = "common"
	AccountTenant        AccountType = "tenant"
	AccountConsumers     AccountType = "consumers"
	AccountOrganizations AccountType = "organizations"
)

// AccountTypes lists the account types in the order the form offers them.
var AccountTypes = []AccountType{AccountCommon, AccountTenant, AccountConsumers, AccountOrganizations}

// Label is the account type as the form names it.
func (a AccountType) Label() string {
	switch a {
	case AccountCommon:
		return "Common"
	case AccountTenant:
		return "Tenant-specific"
	case AccountConsumers:
		return "Consumer"
	case AccountOrganizations:
		return "Organization"
	}
	return string(a)
}

// Hint says who may sign in with the account type.
func (a AccountType) Hint() string {
	switch a {
	case AccountCommon:
		return "Any Microsoft account: work, school or personal."
	case AccountTenant:
		return "Only accounts of one organization (Microsoft Entra tenant)."
	case AccountConsumers:
		return "Only personal Microsoft accounts (outlook.com, hotmail.com, live.com)."
	case AccountOrganizations:
		return "Any work or school account, from any organization."
	}
	return ""
}

// Valid reports whether a is one of the four account types.
func (a AccountType) Valid() bool {
	for _, t := range AccountTypes {
		if a == t {
			return true
		}
	}
	return false
}

// AuthType is the "Authentication type" of the form.
type AuthType string

const (
	AuthCode              AuthType = "authorization_code"
	AuthClientCredentials AuthType = "client_credentials"
)

// Label is the authentication type as the form names it.
func (a AuthType) Label() string {
	if a == AuthClientCredentials {
		return "Client credentials"
	}
	return "Authorization code grant"
}

// Authority is the path segment of the Microsoft endpoints a connection signs
// in at: common, organizations, consumers, or the tenant as entered.
func Authority(a AccountType, msTenant string) string {
	if a == AccountTenant {
		return strings.ToLower(msTenant)
	}
	return string(a)
}

// AdminConsentAuthority is where admin consent for the connection is asked,
// or "" when its account type has no admin: the v2 adminconsent endpoint
// takes a tenant or organizations, never common or consumers.
func AdminConsentAuthority(a AccountType, msTenant string) string {
	switch a {
	case AccountTenant:
		return strings.ToLower(msTenant)
	case AccountOrganizations:
		return string(AccountOrganizations)
	}
	return ""
}

// accountFits reports whether an account of tenant tid may hold a connection
// of this account type; msTenantID is the connection's tenant as a GUID when
// known. The id_token check already does this for GUID tenants; this repeats
// it so the rule lives next to the account types, and covers domains.
func accountFits(a AccountType, msTenantID, tid string) bool {
	switch a {
	case AccountConsumers:
		return tid == oauth.ConsumersTenantID
	case AccountOrganizations:
		return tid != oauth.ConsumersTenantID
	case AccountTenant:
		return msTenantID == "" || strings.EqualFold(msTenantID, tid)
	}
	return true
}
