package mssim

import (
	"slices"
	"strings"
	"time"
)

// faultJSON is Fault on the wire, durations as strings ("250ms", "2s").
type faultJSON struct {
	Endpoint    string `json:"endpoint,omitempty"`
	Grant       string `json:"grant,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
	User        string `json:"user,omitempty"`
	Times       int    `json:"times,omitempty"`
	Latency     string `json:"latency,omitempty"`
	Status      int    `json:"status,omitempty"`
	Error       string `json:"error,omitempty"`
	Code        int    `json:"code,omitempty"`
	Message     string `json:"message,omitempty"`
	RetryAfter  string `json:"retryAfter,omitempty"`
	Body        string `json:"body,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

func (fj faultJSON) fault() (Fault, error) {
	f := Fault{Endpoint: fj.Endpoint, Grant: fj.Grant, ClientID: fj.ClientID, User: fj.User, Times: fj.Times,
		Status: fj.Status, Error: fj.Error, Code: fj.Code, Message: fj.Message, Body: fj.Body, ContentType: fj.ContentType}
	for _, p := range []struct {
		in  string
		out *time.Duration
	}{{fj.Latency, &f.Latency}, {fj.RetryAfter, &f.RetryAfter}} {
		if p.in == "" {
			continue
		}
		d, err := parseDuration(p.in)
		if err != nil {
			return Fault{}, err
		}
		*p.out = d
	}
	return f, nil
}

func toFaultJSON(f Fault) faultJSON {
	fj := faultJSON{Endpoint: f.Endpoint, Grant: f.Grant, ClientID: f.ClientID, User: f.User, Times: f.Times,
		Status: f.Status, Error: f.Error, Code: f.Code, Message: f.Message, Body: f.Body, ContentType: f.ContentType}
	if f.Latency > 0 {
		fj.Latency = f.Latency.String()
	}
	if f.RetryAfter > 0 {
		fj.RetryAfter = f.RetryAfter.String()
	}
	return fj
}

// appListing is an app without its secret values.
type appListing struct {
	ClientID       string      `json:"clientId"`
	Name           string      `json:"name"`
	HomeTenant     string      `json:"homeTenant"`
	Audience       Audience    `json:"audience"`
	RedirectURIs   []string    `json:"redirectUris"`
	SecretExpiries []time.Time `json:"secretExpiries"`
	Scopes         []string    `json:"scopes"`
	AppPermissions []string    `json:"appPermissions"`
}

type directoryListing struct {
	Tenants []Tenant     `json:"tenants"`
	Users   []User       `json:"users"`
	Apps    []appListing `json:"apps"`
}

func (d *directory) listing() directoryListing {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out directoryListing
	seen := map[*tenant]bool{}
	for _, t := range d.tenants {
		if !seen[t] {
			seen[t] = true
			out.Tenants = append(out.Tenants, Tenant{ID: t.id, Name: t.name, Domains: t.domains, AdminConsentRequired: t.adminOnly})
		}
	}
	for k, u := range d.users {
		if k == u.ObjectID {
			out.Users = append(out.Users, u.User)
		}
	}
	for _, a := range d.apps {
		l := appListing{ClientID: a.clientID, Name: a.name, HomeTenant: a.home.id, Audience: a.audience,
			RedirectURIs: a.redirects, Scopes: a.scopes.names(), AppPermissions: a.perms.names()}
		for _, sec := range *a.secrets.Load() {
			l.SecretExpiries = append(l.SecretExpiries, sec.expires)
		}
		out.Apps = append(out.Apps, l)
	}
	slices.SortFunc(out.Tenants, func(a, b Tenant) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Users, func(a, b User) int { return strings.Compare(a.UPN, b.UPN) })
	slices.SortFunc(out.Apps, func(a, b appListing) int { return strings.Compare(a.Name, b.Name) })
	return out
}
