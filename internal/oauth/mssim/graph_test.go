package mssim

import (
	"net/url"
	"testing"
	"time"
)

func TestGraph(t *testing.T) {
	e := newTestEnv(t)
	d := e.demo
	mustDo(t, e.sim.GrantAppRoles(DemoContosoTenantID, DemoDaemonClientID)) // idempotent
	if _, err := e.sim.AddUser(User{TenantID: DemoContosoTenantID, UPN: "$svc@contoso.onmicrosoft.com", DisplayName: "Service"}); err != nil {
		t.Fatal(err)
	}
	adele := e.redeem("common", d.Adele.UPN, nil).AccessToken // User.Read Mail.Read
	noUser := e.redeem("common", d.Alex.UPN, map[string]string{"scope": "openid Mail.Read"}).AccessToken
	noMail := e.redeem("common", d.Megan.UPN, map[string]string{"scope": "openid User.Read"}).AccessToken
	pat := e.redeem("consumers", d.Pat.UPN, nil).AccessToken
	appTok := func(t *testing.T) string {
		r := e.postToken(DemoContosoTenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
			"client_secret": {DemoDaemonClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
		if r.status != 200 {
			t.Fatal(r.raw)
		}
		return r.ok.AccessToken
	}
	app := appTok(t)

	tests := []struct {
		name   string
		path   string
		token  string
		status int
		code   string // Graph error code; "" = success
		id     string // expected "id" on success for user bodies
	}{
		{"me", "/v1.0/me", adele, 200, "", d.Adele.ObjectID},
		{"me, personal account", "/v1.0/me", pat, 200, "", d.Pat.ObjectID},
		{"me without User.Read", "/v1.0/me", noUser, 403, "Authorization_RequestDenied", ""},
		{"me with an app token", "/v1.0/me", app, 400, "BadRequest", ""},
		{"no token", "/v1.0/me", "", 401, "InvalidAuthenticationToken", ""},
		{"unknown token", "/v1.0/me", "EwAnot-a-token", 401, "InvalidAuthenticationToken", ""},
		{"self by UPN", "/v1.0/users/" + d.Adele.UPN, adele, 200, "", d.Adele.ObjectID},
		{"self by ID", "/v1.0/users/" + d.Adele.ObjectID, adele, 200, "", d.Adele.ObjectID},
		{"someone else, delegated User.Read", "/v1.0/users/" + d.Alex.UPN, adele, 403, "Authorization_RequestDenied", ""},
		{"user, app without User.Read.All", "/v1.0/users/" + d.Alex.UPN, app, 403, "Authorization_RequestDenied", ""},
		{"inbox, self", "/v1.0/me/mailFolders/inbox", adele, 200, "", ""},
		{"inbox by UPN, self", "/v1.0/users/" + d.Adele.UPN + "/mailFolders/Inbox", adele, 200, "", ""},
		{"inbox without Mail scopes", "/v1.0/me/mailFolders/inbox", noMail, 403, "ErrorAccessDenied", ""},
		{"inbox of someone else, delegated", "/v1.0/users/" + d.Alex.UPN + "/mailFolders/inbox", adele, 403, "ErrorAccessDenied", ""},
		{"inbox, app with Mail.Read", "/v1.0/users/" + d.Alex.UPN + "/mailFolders/inbox", app, 200, "", ""},
		{"messages, app", "/v1.0/users/" + d.Alex.ObjectID + "/messages?$top=1&$select=id", app, 200, "", ""},
		{"inbox of unknown user, app", "/v1.0/users/nobody@contoso.onmicrosoft.com/mailFolders/inbox", app, 404, "ResourceNotFound", ""},
		{"inbox of another tenant's user, app", "/v1.0/users/" + d.Megan.UPN + "/mailFolders/inbox", app, 404, "ResourceNotFound", ""},
		{"$ UPN in users('…') form", "/v1.0/users('$svc@contoso.onmicrosoft.com')/mailFolders/inbox", app, 200, "", ""},
		{"unknown path", "/v1.0/me/drive", adele, 400, "BadRequest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, ge := e.graphGet(tt.path, tt.token)
			if status != tt.status || ge.Error.Code != tt.code {
				t.Fatalf("got %d %q, want %d %q: %+v", status, ge.Error.Code, tt.status, tt.code, ge)
			}
			if tt.code != "" && (ge.Error.Message == "" || ge.Error.InnerError.RequestID == "" || ge.Error.InnerError.Date == "") {
				t.Errorf("incomplete error body: %+v", ge)
			}
			if tt.id != "" && body["id"] != tt.id {
				t.Errorf("id %v, want %s", body["id"], tt.id)
			}
		})
	}

	t.Run("user with User.Read.All role, then unknown user", func(t *testing.T) {
		mustDo(t, e.sim.GrantAppRoles(DemoContosoTenantID, DemoDaemonClientID, "User.Read.All"))
		tok := appTok(t)
		if status, body, _ := e.graphGet("/v1.0/users/"+d.Alex.UPN, tok); status != 200 || body["id"] != d.Alex.ObjectID {
			t.Fatalf("got %d %v", status, body)
		}
		if status, _, ge := e.graphGet("/v1.0/users/nobody@contoso.onmicrosoft.com", tok); status != 404 || ge.Error.Code != "Request_ResourceNotFound" {
			t.Fatalf("got %d %+v", status, ge)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		e.sim.Advance(91 * time.Minute)
		status, _, ge := e.graphGet("/v1.0/me", adele)
		if status != 401 || ge.Error.Code != "InvalidAuthenticationToken" || ge.Error.Message != "Lifetime validation failed, the token is expired." {
			t.Fatalf("got %d %+v", status, ge)
		}
	})
}
