package mssim

import (
	"math/bits"
	"strings"
	"sync"
)

// GraphResource is Graph's resource identifier, the prefix of its scopes.
const GraphResource = "https://graph.microsoft.com"

// graphAppID is Graph's well-known application ID; "{graphAppID}/Mail.Read"
// is another spelling of a Graph scope.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// perm is one permission the sim knows. Real Graph has hundreds; these are
// the ones an Outlook connection and its checks use. A scope outside the
// catalog fails with AADSTS70011, as an unknown scope does on the platform.
type perm struct {
	name        string
	delegated   bool   // may be asked for as a delegated scope
	application bool   // may be granted as an application role
	adminOnly   bool   // delegated, but only an admin may consent
	desc        string // the consent page's wording
}

// catalog's order is the order scopes appear in token responses. The first
// four are the OpenID Connect scopes, which are not Graph permissions.
var catalog = []perm{
	{name: "openid", delegated: true, desc: "Sign you in"},
	{name: "profile", delegated: true, desc: "View your basic profile"},
	{name: "email", delegated: true, desc: "View your email address"},
	{name: "offline_access", delegated: true, desc: "Maintain access to data you have given it access to"},
	{name: "User.Read", delegated: true, desc: "Sign you in and read your profile"},
	{name: "User.ReadWrite", delegated: true, desc: "Read and update your profile"},
	{name: "User.ReadBasic.All", delegated: true, application: true, desc: "Read all users' basic profiles"},
	{name: "User.Read.All", delegated: true, application: true, adminOnly: true, desc: "Read all users' full profiles"},
	{name: "User.ReadWrite.All", delegated: true, application: true, adminOnly: true, desc: "Read and write all users' full profiles"},
	{name: "Directory.Read.All", delegated: true, application: true, adminOnly: true, desc: "Read directory data"},
	{name: "Mail.ReadBasic", delegated: true, desc: "Read user basic mail"},
	{name: "Mail.ReadBasic.All", application: true, desc: "Read basic mail in all mailboxes"},
	{name: "Mail.Read", delegated: true, application: true, desc: "Read your mail"},
	{name: "Mail.ReadWrite", delegated: true, application: true, desc: "Read and write access to your mail"},
	{name: "Mail.Send", delegated: true, application: true, desc: "Send mail as you"},
	{name: "Mail.Read.Shared", delegated: true, desc: "Read user and shared mail"},
	{name: "Mail.ReadWrite.Shared", delegated: true, desc: "Read and write user and shared mail"},
	{name: "Mail.Send.Shared", delegated: true, desc: "Send mail on behalf of others"},
	{name: "MailboxSettings.Read", delegated: true, application: true, desc: "Read your mailbox settings"},
	{name: "MailboxSettings.ReadWrite", delegated: true, application: true, desc: "Read and write your mailbox settings"},
	{name: "Calendars.Read", delegated: true, application: true, desc: "Read your calendars"},
	{name: "Calendars.ReadWrite", delegated: true, application: true, desc: "Have full access to your calendars"},
	{name: "Calendars.Read.Shared", delegated: true, desc: "Read user and shared calendars"},
	{name: "Calendars.ReadWrite.Shared", delegated: true, desc: "Read and write user and shared calendars"},
	{name: "Contacts.Read", delegated: true, application: true, desc: "Read your contacts"},
	{name: "Contacts.ReadWrite", delegated: true, application: true, desc: "Have full access to your contacts"},
	{name: "Contacts.Read.Shared", delegated: true, desc: "Read user and shared contacts"},
	{name: "Contacts.ReadWrite.Shared", delegated: true, desc: "Read and write user and shared contacts"},
	{name: "People.Read", delegated: true, desc: "Read your relevant people list"},
	{name: "Tasks.ReadWrite", delegated: true, desc: "Create, read, update, and delete your tasks"},
	{name: "Files.Read", delegated: true, desc: "Read your files"},
	{name: "Files.ReadWrite", delegated: true, desc: "Have full access to your files"},
	{name: "Files.Read.All", delegated: true, application: true, desc: "Read all files that you can access"},
}

// scopeSet is a set of catalog entries, one bit each: checks on the hot
// paths (refresh, Graph) are a mask test, not a string search.
type scopeSet uint64

const (
	scopeOpenID scopeSet = 1 << iota
	scopeProfile
	scopeEmail
	scopeOfflineAccess
	oidcScopes = scopeOpenID | scopeProfile | scopeEmail | scopeOfflineAccess
)

var catalogIndex = func() map[string]int {
	if len(catalog) > 64 {
		panic("mssim: scope catalog exceeds 64 entries")
	}
	m := make(map[string]int, len(catalog))
	for i, p := range catalog {
		m[strings.ToLower(p.name)] = i
	}
	return m
}()

// lookupPerm finds a permission by name, case-insensitively as Entra does.
func lookupPerm(name string) (scopeSet, perm, bool) {
	i, ok := catalogIndex[strings.ToLower(name)]
	if !ok {
		return 0, perm{}, false
	}
	return 1 << i, catalog[i], true
}

// mustScopes builds a set from names known to be in the catalog.
func mustScopes(names ...string) scopeSet {
	var s scopeSet
	for _, n := range names {
		b, _, ok := lookupPerm(n)
		if !ok {
			panic("mssim: unknown scope " + n)
		}
		s |= b
	}
	return s
}

func (s scopeSet) has(b scopeSet) bool         { return s&b == b }
func (s scopeSet) any(b scopeSet) bool         { return s&b != 0 }
func (s scopeSet) resource() scopeSet          { return s &^ oidcScopes }
func (s scopeSet) without(b scopeSet) scopeSet { return s &^ b }

// perms lists the set's entries in catalog order.
func (s scopeSet) perms() []perm {
	out := make([]perm, 0, bits.OnesCount64(uint64(s)))
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, catalog[bits.TrailingZeros64(v)])
	}
	return out
}

// names lists the entries' short names ("Mail.Read", "openid").
func (s scopeSet) names() []string {
	ps := s.perms()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// qualified returns one entry's name as it appears in a scope string.
func qualified(p perm, bit scopeSet) string {
	if bit&oidcScopes != 0 {
		return p.name
	}
	return GraphResource + "/" + p.name
}

var scopeStrings sync.Map // scopeSet → string; few distinct sets exist

// String formats the set as a token response's "scope": Graph permissions
// fully qualified, then the OpenID Connect scopes.
func (s scopeSet) String() string {
	if v, ok := scopeStrings.Load(s); ok {
		return v.(string)
	}
	var parts []string
	for _, part := range []scopeSet{s.resource(), s & oidcScopes} {
		for v := uint64(part); v != 0; v &= v - 1 {
			bit := scopeSet(1) << bits.TrailingZeros64(v)
			parts = append(parts, qualified(catalog[bits.TrailingZeros64(v)], bit))
		}
	}
	str := strings.Join(parts, " ")
	scopeStrings.Store(s, str)
	return str
}

// parsedScopes is a request's scope parameter after normalisation.
type parsedScopes struct {
	set      scopeSet
	dflt     bool   // https://graph.microsoft.com/.default was asked for
	badScope string // first scope not in the catalog (AADSTS70011)
	badRes   string // first resource that is not Graph (AADSTS500011)
}

// parseScopes normalises a space-separated scope list in the global cloud.
// Callers turn badScope and badRes into the matching errors.
func parseScopes(raw string) parsedScopes { return parseScopesFor(raw, GraphResource) }

// parseScopesFor is parseScopes in the cloud whose Graph resource is graphRes.
func parseScopesFor(raw, graphRes string) parsedScopes {
	var p parsedScopes
	for _, tok := range strings.Fields(raw) {
		name, ok := graphScopeName(tok, graphRes)
		if !ok {
			if p.badRes == "" {
				p.badRes = resourceOf(tok)
			}
			continue
		}
		if name == ".default" {
			p.dflt = true
			continue
		}
		bit, pm, found := lookupPerm(name)
		if !found || !pm.delegated {
			if p.badScope == "" {
				p.badScope = tok
			}
			continue
		}
		p.set |= bit
	}
	return p
}

// graphScopeName strips Graph's resource prefix (graphRes, the cloud's). A
// bare name is Graph's too; a scope with any other resource prefix, another
// cloud's Graph included, is not.
func graphScopeName(tok, graphRes string) (string, bool) {
	low := strings.ToLower(tok)
	for _, prefix := range []string{graphRes + "/", graphAppID + "/"} {
		if strings.HasPrefix(low, prefix) {
			return tok[len(prefix):], true
		}
	}
	if strings.Contains(tok, "/") {
		return "", false
	}
	return tok, true
}

func resourceOf(tok string) string {
	if i := strings.LastIndex(tok, "/"); i > 0 {
		return tok[:i]
	}
	return tok
}
