package oauth

import (
	"slices"
	"strings"
)

// graphPrefixes are the ways a token answer may name Graph as the resource
// of a permission: its URL in any cloud (a national cloud answers with its
// own Graph host) or its application ID, which is the same everywhere.
var graphPrefixes = func() []string {
	out := []string{"00000003-0000-0000-c000-000000000000/"}
	for _, host := range GraphResources {
		out = append(out, host+"/")
	}
	return out
}()

// GrantedScopes turns a token answer's "scope" into the permissions the
// broker records, in the same form as the request: Graph permissions by
// their short name ("Mail.Read", spelled as requested), the OpenID Connect
// scopes dropped (they are not permissions on Graph), and offline_access
// present exactly when a refresh token is held. Requested order first, then
// anything granted beyond the request. An answer without a scope means the
// request was granted as asked. Every path that stores granted scopes (the
// sign-in callback, refreshes, tests, secret rotation) goes through here, so
// a refresh never changes how the same grant is written.
func GrantedScopes(requested, fromToken []string, holdsRefreshToken bool) []string {
	if len(fromToken) == 0 {
		return slices.Clone(requested)
	}
	var out []string
	for _, raw := range fromToken {
		name := raw
		if i := indexFold(requested, raw); i < 0 {
			for _, prefix := range graphPrefixes {
				if len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
					name = name[len(prefix):]
				}
			}
		}
		switch strings.ToLower(name) {
		case "openid", "profile", "email", "offline_access":
			continue
		}
		if i := indexFold(requested, name); i >= 0 {
			name = requested[i]
		}
		if indexFold(out, name) < 0 {
			out = append(out, name)
		}
	}
	if holdsRefreshToken {
		out = append(out, "offline_access")
	}
	slices.SortStableFunc(out, func(a, b string) int { return rank(requested, a) - rank(requested, b) })
	return out
}

func indexFold(list []string, s string) int {
	return slices.IndexFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func rank(list []string, s string) int {
	if i := indexFold(list, s); i >= 0 {
		return i
	}
	return len(list)
}
