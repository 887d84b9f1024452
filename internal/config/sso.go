package config

import "strings"

// breakGlass parses BROKER_SSO_BREAK_GLASS: comma- or space-separated email
// addresses of tenant users who may still sign in with a password when their
// tenant requires single sign-on (README, "Sign in with Microsoft"). Keep it
// to one or two admins per tenant, for when Microsoft is unreachable.
func breakGlass(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

// SSORedirectURL is the redirect URI of "Sign in with Microsoft", to
// register on the app registration next to RedirectURL.
func (c *Config) SSORedirectURL() string {
	return strings.TrimRight(c.PublicURL, "/") + "/login/microsoft/callback"
}
