package connect

import (
	"net/url"
	"testing"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
)

// return_url matches an allowed origin exactly: scheme, host and port.
func TestReturnURLMatchesOriginExactly(t *testing.T) {
	allowed := []string{"https://app.example.test", "http://localhost:3000"}
	for raw, ok := range map[string]bool{
		"https://app.example.test/done?x=1":           true,
		"https://APP.example.test/done":               true, // hosts are case-insensitive
		"http://localhost:3000/cb":                    true,
		"http://app.example.test/done":                false, // scheme
		"https://app.example.test:444/done":           false, // port
		"http://localhost:3001/cb":                    false,
		"https://app.example.test.evil.test/":         false,
		"https://evil.test/?https://app.example.test": false,
		"https://user@app.example.test/":              false, // credentials
		"https://app.example.test/#frag":              false,
		"//app.example.test/done":                     false, // not absolute
		"javascript:alert(1)":                         false,
	} {
		_, err := ReturnURL(raw, allowed)
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestReturnToAddsTheOutcome(t *testing.T) {
	got := ReturnTo(store.ConnectSession{ID: "s1", ReturnURL: "https://app.example.test/done?tab=mail"}, "completed", "c1")
	u, _ := url.Parse(got)
	q := u.Query()
	if q.Get("tab") != "mail" || q.Get("connect_session_id") != "s1" || q.Get("connection_id") != "c1" || q.Get("status") != "completed" {
		t.Fatalf("%s", got)
	}
	if got := ReturnTo(store.ConnectSession{ID: "s1"}, "completed", "c1"); got != "" {
		t.Fatalf("no return_url: %q", got)
	}
}

func TestCheckSettingsListsEveryProblem(t *testing.T) {
	cs := store.ConnectSettings{DisplayName: " Acme ", BrandColor: "#0F7B6C", LogoURL: "https://acme.test/l.png",
		AllowedReturnOrigins: []string{"https://App.acme.test/", "https://app.acme.test"}}
	if p := CheckSettings(&cs); len(p) != 0 || cs.DisplayName != "Acme" || cs.BrandColor != "#0f7b6c" ||
		len(cs.AllowedReturnOrigins) != 1 || cs.AllowedReturnOrigins[0] != "https://app.acme.test" {
		t.Fatalf("%v %+v", p, cs)
	}
	bad := store.ConnectSettings{BrandColor: "red", LogoURL: "http://acme.test/l.png",
		AllowedReturnOrigins: []string{"https://app.acme.test/cb", "ftp://x"}}
	if p := CheckSettings(&bad); len(p) != 4 {
		t.Fatalf("problems %v, want 4", p)
	}
}

func TestNewFormFollowsTheSession(t *testing.T) {
	f := NewForm(store.ConnectSession{ProjectID: "p", EndUser: store.EndUser{ID: "u", Email: "dana@x.test"},
		AllowedAuthTypes: []string{"client_credentials"}, Scopes: []string{"Mail.Read"}})
	if f.Name != "Outlook of dana@x.test" || f.AuthType != connections.AuthClientCredentials ||
		f.AccountType != connections.AccountTenant || f.ProjectID != "p" || len(f.Scopes) != 1 {
		t.Fatalf("%+v", f)
	}
}
