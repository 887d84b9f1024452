package connweb_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

func codeValues(s *server, name, accountType, tenant string) url.Values {
	v := url.Values{"name": {name}, "project": {s.Sales.ID}, "account_type": {accountType}, "ms_tenant": {tenant},
		"auth_type": {"authorization_code"}, "scopes_shown": {"1"}}
	for _, sc := range connections.DefaultScopes() {
		v.Add("scope", sc)
	}
	return v
}

func connID(t *testing.T, res response) string {
	t.Helper()
	wantStatus(t, res, http.StatusSeeOther)
	id, ok := strings.CutPrefix(res.Header.Get("Location"), "/connections/")
	if !ok || id == "" {
		t.Fatalf("redirect to %q", res.Header.Get("Location"))
	}
	return id
}

func TestNewConnectionPage(t *testing.T) {
	s := newServer(t)
	anon := s.browser(t)
	res := anon.get("/connections/new")
	wantStatus(t, res, http.StatusSeeOther)
	if !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous: %s", res.Header.Get("Location"))
	}
	b := s.browser(t).signIn(s.Member.Email)
	res = b.get("/connections/new")
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, `name="name"`, `name="project"`, `value="`+s.Sales.ID+`"`, `name="account_type"`, `name="ms_tenant"`,
		"Only for Tenant-specific", `name="auth_type"`, `name="client_secret"`, "Only for Client credentials",
		`name="user_principal"`, `name="client_id"`, `name="secret_expires"`, "Advanced settings", `value="Mail.ReadWrite.Shared" checked`,
		"always requested", "Sign in with Microsoft", "connection-form.js", `<label for="project">Project</label>`,
		`data-show-when="auth_type=client_credentials"`)
	// The broker's redirect URI is for whoever runs the broker: a member
	// cannot act on it; an admin sees it to pass on.
	wantNotInBody(t, res, s.Support.ID, "<script>", s.Redirect, `data-copy="redirect-uri"`)
	res = s.browser(t).signIn(s.Admin.Email).get("/connections/new")
	wantBody(t, res, s.Redirect, `data-copy="redirect-uri"`)
}

func TestInvalidFormRerendersWithoutSecret(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	const secret = "very~secret-value-typed-in"
	res := b.post("/connections", url.Values{"name": {"  "}, "project": {s.Sales.ID}, "account_type": {"common"},
		"auth_type": {"client_credentials"}, "user_principal": {"adele"}, "client_id": {"nope"}, "client_secret": {secret},
		"secret_expires": {"2020-01-01"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, `id="name-error"`, `aria-describedby="name-help name-error"`, `id="auth_type-error"`,
		`id="user_principal-error"`, `value="adele"`, `id="client_id-error"`, `value="nope"`, `id="secret_expires-error"`,
		`href="#name"`, "Check the form", `<a href="/connections/new" aria-current="page">New connection</a>`)
	wantNotInBody(t, res, secret, `<a href="/connections" aria-current="page">`)
	list, _ := s.Store.ListConnections(context.Background(), s.Tenant.ID, store.ListConnectionsFilter{})
	if len(list) != 0 {
		t.Fatal("an invalid form saved a connection")
	}
	// A tenant that is not a GUID or a domain.
	res = b.post("/connections", codeValues(s, "x", "tenant", "not a tenant"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, `id="ms_tenant-error"`, `value="not a tenant"`)
}

func TestSignInWithMicrosoft(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	res := b.post("/connections", codeValues(s, "Adele's mailbox", "tenant", s.Demo.Contoso.Domain))
	loc, _ := url.Parse(handoff(t, res))
	if loc.Host != strings.TrimPrefix(s.SimURL, "http://") || loc.Path != "/"+s.Demo.Contoso.Domain+"/oauth2/v2.0/authorize" {
		t.Fatalf("redirected to %s", loc)
	}
	callback := b.microsoft(res, s.Demo.Adele.UPN, mssim.SignInOptions{})
	res = b.get(callback)
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("callback Referrer-Policy %q", res.Header.Get("Referrer-Policy"))
	}
	id := connID(t, res)
	res = b.get("/connections/" + id)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Active", s.Demo.Adele.UPN, "Adele Vance", s.Demo.Contoso.ID, "Connected as "+s.Demo.Adele.UPN)
	// The header's ID and the ready snippet: selectable text, their Copy
	// buttons hidden until copy.js shows them.
	wantBody(t, res, `<code class="selectable" id="connection-id">`+id+`</code>`, `data-copy="connection-id" hidden`,
		strings.TrimSuffix(s.Redirect, "/oauth/callback")+"/api/v1/connections/"+id+"/token", `data-copy="snippet" hidden`, "copy.js")
	c, cr, _ := s.Store.ConnectionWithCredentials(context.Background(), s.Tenant.ID, id)
	wantNotInBody(t, res, cr.RefreshToken, cr.AccessToken)
	if c.Status != "active" {
		t.Fatal(c.Status)
	}
	// The callback again, from the same browser: a replay.
	res = b.get(callback)
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "no longer valid", "/connections/new")
	verifiers, codes := s.MS.Seen()
	conntest.AssertNoPlaintext(t, s.DBURL, append(append([]string{cr.RefreshToken, cr.AccessToken}, verifiers...), codes...)...)
	if strings.Contains(s.logs.String(), cr.RefreshToken) || strings.Contains(s.logs.String(), codes[0]) {
		t.Fatal("a secret reached the log")
	}
}

func TestCallbackFromAnotherBrowserSession(t *testing.T) {
	s := newServer(t)
	mine := s.browser(t).signIn(s.Admin.Email)
	theirs := s.browser(t).signIn(s.Admin.Email) // same user, another session
	callback := mine.microsoft(mine.post("/connections", codeValues(s, "mine", "common", "")), s.Demo.Adele.UPN, mssim.SignInOptions{})
	res := theirs.get(callback)
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "no longer valid")
	anon := s.browser(t)
	res = anon.get(callback)
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "session has ended", `href="/login"`)
	connID(t, mine.get(callback))
}

func TestCancelPageOffersRetry(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Member.Email)
	callback := b.microsoft(b.post("/connections", codeValues(s, "cancelled", "common", "")), s.Demo.Adele.UPN, mssim.SignInOptions{Cancel: true})
	res := b.get(callback)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Sign-in cancelled", "/reconnect", "AADSTS65004", `data-kind="cancelled"`)
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatal("no Referrer-Policy on the error page")
	}
	list, _ := s.Store.ListConnections(context.Background(), s.Tenant.ID, store.ListConnectionsFilter{})
	if len(list) != 1 || list[0].Status != "pending" {
		t.Fatalf("%+v", list)
	}
	// Try again from the page's button.
	res = b.post("/connections/"+list[0].ID+"/reconnect", nil)
	id := connID(t, b.get(b.microsoft(res, s.Demo.Adele.UPN, mssim.SignInOptions{})))
	if id != list[0].ID {
		t.Fatal("retry made another connection")
	}
}

func TestAdminConsentPages(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	callback := b.microsoft(b.post("/connections", codeValues(s, "megan", "tenant", s.Demo.Fabrikam.ID)), s.Demo.Megan.UPN, mssim.SignInOptions{})
	res := b.get(callback)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "An administrator must approve", "What to tell your administrator", "AADSTS65001",
		"/"+s.Demo.Fabrikam.ID+"/v2.0/adminconsent?", "/admin-consent")
	list, _ := s.Store.ListConnections(context.Background(), s.Tenant.ID, store.ListConnectionsFilter{})
	id := list[0].ID

	res = b.post("/connections/"+id+"/admin-consent", nil)
	if loc := handoff(t, res); !strings.Contains(loc, "/v2.0/adminconsent?") || !strings.Contains(loc, "state=") {
		t.Fatalf("admin consent redirect %s", loc)
	}
	// The tenant query value is Microsoft's, but an edited one changes nothing.
	back := b.microsoft(res, s.Demo.FabrikamAdmin.UPN, mssim.SignInOptions{})
	back = strings.Replace(back, "tenant="+s.Demo.Fabrikam.ID, "tenant="+s.Demo.Contoso.ID, 1)
	res = b.get(back)
	if got := connID(t, res); got != id {
		t.Fatalf("admin consent went back to %s", got)
	}
	res = b.get("/connections/" + id)
	wantBody(t, res, "An administrator granted consent", "Sign in with Microsoft")

	// Forwarded link: an administrator who is not signed in here.
	c, _ := s.Store.Connection(context.Background(), s.Tenant.ID, id)
	link := s.Service.AdminConsentLink(c)
	fwd, err := mssim.SignIn(context.Background(), &http.Client{}, link, s.Demo.FabrikamAdmin.UPN, mssim.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res = s.browser(t).get(fwd.String())
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Thank you")
}

func TestExchangeFailurePage(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	callback := b.microsoft(b.post("/connections", codeValues(s, "exchange", "common", "")), s.Demo.Adele.UPN, mssim.SignInOptions{})
	s.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Grant: "authorization_code", Error: "invalid_client", Code: 7000215, Times: 1})
	res := b.get(callback)
	wantStatus(t, res, http.StatusOK)
	wantBody(t, res, "Microsoft did not complete the sign-in", "AADSTS7000215", `id="trace-id"`)
	cb, _ := url.Parse(callback)
	wantNotInBody(t, res, "error_description", `"error"`, "error_codes", cb.Query().Get("code"), cb.Query().Get("state"))
}

func TestFewerScopesHighlighted(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	callback := b.microsoft(b.post("/connections", codeValues(s, "partial", "common", "")), s.Demo.Adele.UPN,
		mssim.SignInOptions{Untick: []string{"Calendars.ReadWrite"}})
	id := connID(t, b.get(callback))
	res := b.get("/connections/" + id)
	wantBody(t, res, `id="missing-scopes"`, `class="missing"`, "Not granted", "missing: Calendars.ReadWrite")
}

func TestReconnectAndAccessControl(t *testing.T) {
	s := newServer(t)
	admin := s.browser(t).signIn(s.Admin.Email)
	v := codeValues(s, "support desk", "common", "")
	v.Set("project", s.Support.ID)
	id := connID(t, admin.get(admin.microsoft(admin.post("/connections", v), s.Demo.Adele.UPN, mssim.SignInOptions{})))

	member := s.browser(t).signIn(s.Member.Email) // Sales only
	wantStatus(t, member.get("/connections/"+id), http.StatusNotFound)
	wantStatus(t, member.post("/connections/"+id+"/reconnect", nil), http.StatusNotFound)

	res := admin.post("/connections/"+id+"/reconnect", nil)
	if got := connID(t, admin.get(admin.microsoft(res, s.Demo.Adele.UPN, mssim.SignInOptions{}))); got != id {
		t.Fatal("reconnect made another connection")
	}
	wantBody(t, admin.get("/connections/"+id), "Reconnected as")

	// A cross-site form post is refused before anything happens.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/connections/"+id+"/reconnect", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, admin.do(req), http.StatusForbidden)
}

func TestExpiredFlowPage(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	callback := b.microsoft(b.post("/connections", codeValues(s, "slow", "common", "")), s.Demo.Adele.UPN, mssim.SignInOptions{})
	s.Clock.Advance(connections.FlowTTL + time.Minute)
	res := b.get(callback)
	wantStatus(t, res, http.StatusBadRequest)
	wantBody(t, res, "no longer valid")
}

func TestClientCredentialsPages(t *testing.T) {
	s := newServer(t)
	b := s.browser(t).signIn(s.Admin.Email)
	v := url.Values{"name": {"Daemon"}, "project": {s.Sales.ID}, "account_type": {"tenant"}, "ms_tenant": {s.Demo.Contoso.ID},
		"auth_type": {"client_credentials"}, "user_principal": {s.Demo.Adele.UPN}, "client_id": {s.Demo.DaemonApp.ClientID},
		"client_secret": {"wrong~secret-value"}, "scopes_shown": {"1"}}
	res := b.post("/connections", v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, `id="client_secret-error"`, "AADSTS7000215", "Value (not its Secret ID)", `value="`+s.Demo.DaemonApp.ClientID+`"`)
	wantNotInBody(t, res, "wrong~secret-value")

	v.Set("client_secret", s.Demo.DaemonApp.Secret)
	v.Set("secret_expires", s.Clock.Now().AddDate(0, 0, 10).Format("2006-01-02"))
	id := connID(t, b.post("/connections", v))
	res = b.get("/connections/" + id)
	wantBody(t, res, "Active", "is connected", s.Demo.Adele.UPN, "Stored encrypted", "expires in")
	wantNotInBody(t, res, s.Demo.DaemonApp.Secret, "/reconnect")
	conntest.AssertNoPlaintext(t, s.DBURL, s.Demo.DaemonApp.Secret, "wrong~secret-value")
}

// Anyone can send a browser to the callback with an error text of their
// choosing and no state. Microsoft's words are shown only to a session with
// a sign-in under way; an anonymous visitor, or a session with none, sees
// the error code at most (an AADSTS number, or an error OAuth defines),
// never the text.
func TestStatelessErrorShowsNoForeignText(t *testing.T) {
	s := newServer(t)
	const lure = "Your mailbox is locked. Call 0800 123 456 and read out your password"
	forged := "/oauth/callback?" + url.Values{"error": {"access_denied"},
		"error_description": {"AADSTS50105: " + lure}}.Encode()
	odd := "/oauth/callback?" + url.Values{"error": {"Call 0800 123 456"}, "error_description": {lure}}.Encode()

	anonymous := s.browser(t)
	signedIn := s.browser(t).signIn(s.Admin.Email)
	for name, b := range map[string]*browser{"anonymous": anonymous, "signed in, no sign-in under way": signedIn} {
		for _, path := range []string{forged, odd} {
			res := b.get(path)
			wantStatus(t, res, http.StatusOK)
			wantBody(t, res, "Microsoft reported an error", "nothing was changed")
			wantNotInBody(t, res, lure, "0800", "locked")
		}
		if res := b.get(forged); !strings.Contains(res.body, "AADSTS50105") {
			t.Errorf("%s: the error code is not shown", name)
		}
		if res := b.get(odd); strings.Contains(res.body, "Error code") {
			t.Errorf("%s: a made-up error code is shown", name)
		}
	}

	// A sign-in under way in this session: Microsoft's answer is shown.
	b := s.browser(t).signIn(s.Admin.Email)
	handoff(t, b.post("/connections", codeValues(s, "under way", "common", "")))
	res := b.get(forged)
	wantBody(t, res, "AADSTS50105", "Your mailbox is locked")
}
