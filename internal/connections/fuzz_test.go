package connections

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/brokerhq/broker/internal/oauth"
)

// FuzzForm submits arbitrary New connection forms. Validate never panics;
// a form it accepts holds only well-formed values (a name of 1–100 runes
// without control characters, a project offered, a GUID or domain tenant,
// a GUID client ID, known scopes without repeats) and stays valid and
// unchanged when validated again; no message ever repeats the secret.
func FuzzForm(f *testing.F) {
	add := func(g Form) {
		f.Add(g.Name, g.ProjectID, string(g.AccountType), g.MSTenant, string(g.AuthType), strings.Join(g.Scopes, ","),
			g.UserPrincipal, g.ClientID, g.ClientSecret, g.SecretExpires)
	}
	add(validForm())
	add(validCC())
	add(Form{Name: "<script>alert(1)</script>", ProjectID: "p1", AccountType: AccountTenant, MSTenant: "xn--bcher-kva.example",
		AuthType: AuthCode, Scopes: []string{"Mail.Read", "mail.read", "https://graph.microsoft.com/Mail.Send", "evil"}})
	add(Form{Name: "a\x00b", ProjectID: "p2'--", AccountType: "common", AuthType: AuthClientCredentials,
		UserPrincipal: "a@b.c", ClientID: "00000000-0000-0000-0000-000000000000", ClientSecret: "s3cr3t value\t",
		SecretExpires: "2026-02-30"})
	f.Fuzz(func(t *testing.T, name, project, accountType, msTenant, authType, scopes, upn, clientID, secret, expires string) {
		form := Form{Name: name, ProjectID: project, AccountType: AccountType(accountType), MSTenant: msTenant,
			AuthType: AuthType(authType), UserPrincipal: upn, ClientID: clientID, ClientSecret: secret, SecretExpires: expires}
		if scopes != "" {
			form.Scopes = strings.Split(scopes, ",")
		}
		form.Validate(testProjects, testNow)
		if s := strings.TrimSpace(secret); len(s) >= 4 {
			for field, msg := range form.Errors {
				if strings.Contains(msg, s) {
					t.Fatalf("message for %s repeats the secret: %q", field, msg)
				}
			}
		}
		if !form.Valid() {
			return
		}
		if n := utf8.RuneCountInString(form.Name); n < 1 || n > 100 || strings.IndexFunc(form.Name, unicode.IsControl) >= 0 {
			t.Fatalf("accepted name %q", form.Name)
		}
		if form.ProjectID != "p1" && form.ProjectID != "p2" {
			t.Fatalf("accepted project %q", form.ProjectID)
		}
		if form.AccountType == AccountTenant && form.MSTenant == "" || form.AccountType != AccountTenant && form.MSTenant != "" {
			t.Fatalf("account type %q with tenant %q", form.AccountType, form.MSTenant)
		}
		seen := map[string]bool{}
		for _, s := range form.Scopes {
			if canonicalScope(s) != s || seen[s] {
				t.Fatalf("accepted scopes %q", form.Scopes)
			}
			seen[s] = true
		}
		if form.AuthType == AuthClientCredentials {
			if !oauth.IsGUID(form.ClientID) || form.ClientSecret == "" || strings.IndexFunc(form.ClientSecret, unicode.IsSpace) >= 0 {
				t.Fatalf("accepted client credentials %q / secret of %d bytes", form.ClientID, len(form.ClientSecret))
			}
		} else if form.ClientSecret != "" || form.ClientID != "" {
			t.Fatal("authorization code form kept client credentials")
		}
		again := form
		again.Scopes = append([]string(nil), form.Scopes...)
		again.Validate(testProjects, testNow)
		if !again.Valid() || again.Name != form.Name || again.MSTenant != form.MSTenant || again.ClientID != form.ClientID ||
			strings.Join(again.Scopes, ",") != strings.Join(form.Scopes, ",") {
			t.Fatalf("validating twice changed the form: %+v -> %+v", form, again)
		}
		form.Clear()
		if form.ClientSecret != "" {
			t.Fatal("Clear kept the secret")
		}
	})
}

// FuzzCallbackParams sends arbitrary callback parameters from a browser
// without a broker session. The service never panics, never reaches the
// store (the Service here has none: touching it would panic), changes
// nothing, and answers only "forwarded consent" or a Problem whose texts
// are single lines that never carry the authorization code.
func FuzzCallbackParams(f *testing.F) {
	f.Add("", "", "", "", "True", "")
	f.Add("", "", "access_denied", "AADSTS65004: User declined to consent.\r\nTrace ID: 1", "", "")
	f.Add("state-123", "0.AAAAcode", "", "", "", "https://login.microsoftonline.com/x/v2.0")
	f.Add("", "0.AAAAcode", "<script>", "<img src=x onerror=alert(1)>", "true", "")
	f.Add("", "", "x", "AADSTS99999999999999999999: overflow", "", "")
	f.Fuzz(func(t *testing.T, state, code, errCode, errDesc, adminConsent, iss string) {
		s := &Service{}
		p := CallbackParams{State: state, Code: code, Error: errCode, ErrorDescription: errDesc, AdminConsent: adminConsent, Issuer: iss}
		res, err := s.Complete(context.Background(), Actor{}, false, p)
		if err == nil {
			if res.Kind != ResultForwardedConsent || res.Connection.ID != "" {
				t.Fatalf("anonymous callback gave %+v", res)
			}
			return
		}
		var prob *Problem
		if !errors.As(err, &prob) {
			t.Fatalf("anonymous callback failed with %v, want a Problem", err)
		}
		for _, text := range []string{prob.Title, prob.Message, prob.Summary} {
			if strings.ContainsAny(text, "\r\n") {
				t.Fatalf("problem text %q spans lines", text)
			}
			if len(code) >= 8 && strings.Contains(text, code) {
				t.Fatalf("problem text %q carries the code", text)
			}
		}
	})
}
