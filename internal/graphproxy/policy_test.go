package graphproxy

import (
	"testing"

	"github.com/brokerhq/broker/internal/store"
)

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1.0/me/messages":                "/v1.0/me/messages",
		"/beta/users/a%40b.example":        "/beta/users/a@b.example",
		"/v1.0/me/messages/":               "/v1.0/me/messages/",
		"/v2.0/me":                         "",
		"/v1.0/me/../users":                "",
		"/v1.0/me/%2E%2e/users":            "",
		"/v1.0/me//messages":               "",
		"/v1.0/me/%5c..":                   "",
		"/v1.0/me/%zz":                     "",
		"v1.0/me":                          "",
		"/v1.0/users('a%27%27b')/messages": "/v1.0/users('a''b')/messages",
	} {
		got, ok := cleanPath(in)
		if got != want || ok != (want != "") {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestAllows(t *testing.T) {
	rules := []store.GraphRule{{Method: "GET", PathPrefix: "/v1.0/me/messages"}, {Method: "*", PathPrefix: "/v1.0/me/events"}}
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{"GET", "/v1.0/me/messages", true},
		{"GET", "/v1.0/ME/MESSAGES/abc/attachments", true},
		{"GET", "/v1.0/me/messages/", true},
		{"POST", "/v1.0/me/messages", false},
		{"GET", "/v1.0/me/messagesX", false},
		{"GET", "/v1.0/me", false},
		{"DELETE", "/v1.0/me/events/1", true},
		{"GET", "/beta/me/messages", false},
	} {
		if got := Allows(rules, c.method, c.path); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.method, c.path, got, c.want)
		}
	}
	if !Allows(nil, "DELETE", "/v1.0/anything") {
		t.Error("no rules must allow everything")
	}
	if r, ok := ParseRule("get /v1.0/me/messages/"); !ok || r.Method != "GET" || r.PathPrefix != "/v1.0/me/messages" {
		t.Errorf("ParseRule: %+v %v", r, ok)
	}
	for _, bad := range []string{"FETCH /v1.0/me", "GET", "GET /v3/me", "GET /v1.0/me?x=1", "GET /v1.0/../x"} {
		if _, ok := ParseRule(bad); ok {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
}
