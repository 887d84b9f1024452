package connections_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

const redirect = "https://broker.example.com/oauth/callback"

func newEnv(t *testing.T) *conntest.Env {
	t.Helper()
	t.Parallel()
	return conntest.New(t, redirect)
}

func codeForm(e *conntest.Env, name string, at connections.AccountType, tenant string) *connections.Form {
	return &connections.Form{Name: name, ProjectID: e.Sales.ID, AccountType: at, MSTenant: tenant,
		AuthType: connections.AuthCode, Scopes: connections.DefaultScopes()}
}

// start submits an authorization code form and returns the connection and
// the authorize URL.
func start(t *testing.T, e *conntest.Env, a connections.Actor, f *connections.Form) (store.Connection, string) {
	t.Helper()
	out, err := e.Service.Submit(context.Background(), a, f)
	if err != nil {
		t.Fatalf("submit: %v %v", err, f.Errors)
	}
	if out.Connection.Status != "pending" || out.RedirectURL == "" {
		t.Fatalf("submit: %+v", out)
	}
	return out.Connection, out.RedirectURL
}

func wantProblem(t *testing.T, err error, kind connections.ProblemKind) *connections.Problem {
	t.Helper()
	var p *connections.Problem
	if !errors.As(err, &p) {
		t.Fatalf("err = %v, want a %s problem", err, kind)
	}
	if p.Kind != kind {
		t.Fatalf("problem %s (%s: %s), want %s", p.Kind, p.Title, p.Message, kind)
	}
	return p
}

func conn(t *testing.T, e *conntest.Env, id string) (store.Connection, store.Credentials) {
	t.Helper()
	c, cr, err := e.Store.ConnectionWithCredentials(context.Background(), e.Tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return c, cr
}

func TestSignInActivatesConnection(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "browser-1")
	c, authURL := start(t, e, a, codeForm(e, "Adele's mail", connections.AccountCommon, ""))

	u, _ := url.Parse(authURL)
	q := u.Query()
	if !strings.HasSuffix(u.Path, "/common/oauth2/v2.0/authorize") || q.Get("prompt") != "select_account" ||
		q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || len(q.Get("state")) < 40 {
		t.Fatalf("authorize URL %s", authURL)
	}
	scopes := strings.Fields(q.Get("scope"))
	for _, s := range append(mssim.OutlookScopes, "openid", "profile") {
		if !slices.Contains(scopes, s) {
			t.Errorf("scope %q not requested: %v", s, scopes)
		}
	}

	res, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != connections.ResultConnected || res.Connection.ID != c.ID || len(res.Missing) != 0 {
		t.Fatalf("result %+v", res)
	}
	got, cr := conn(t, e, c.ID)
	if got.Status != "active" || got.AccountTID != e.Demo.Contoso.ID || got.AccountOID != e.Demo.Adele.ObjectID ||
		got.AccountUsername != e.Demo.Adele.UPN || got.AccountName != "Adele Vance" {
		t.Fatalf("connection %+v", got)
	}
	if cr.RefreshToken == "" || cr.AccessToken == "" || got.AccessTokenExpiresAt == nil {
		t.Fatal("tokens not stored")
	}
	if !slices.Equal(got.GrantedScopes, got.RequestedScopes) {
		t.Fatalf("granted %v, requested %v", got.GrantedScopes, got.RequestedScopes)
	}
	ev, _ := e.Store.ListAudit(ctx, e.Tenant.ID, store.AuditFilter{ConnectionID: c.ID})
	if len(ev) != 2 || ev[0].Action != "connection.signed_in" || ev[0].ActorID != e.Admin.ID || ev[1].Action != "connection.created" {
		t.Fatalf("audit %+v", ev)
	}
	verifiers, codes := e.MS.Seen()
	conntest.AssertNoPlaintext(t, e.DBURL, append(append([]string{cr.RefreshToken, cr.AccessToken}, verifiers...), codes...)...)
}

func TestTenantSpecificByDomainAndByID(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	for _, tenant := range []string{e.Demo.Contoso.Domain, strings.ToUpper(e.Demo.Contoso.ID)} {
		c, authURL := start(t, e, a, codeForm(e, "by "+tenant, connections.AccountTenant, tenant))
		if !strings.Contains(authURL, "/"+strings.ToLower(tenant)+"/oauth2/v2.0/authorize") {
			t.Fatalf("authority not the tenant: %s", authURL)
		}
		if _, err := e.Service.Complete(context.Background(), a, true, e.SignIn(t, authURL, e.Demo.Alex.UPN, mssim.SignInOptions{})); err != nil {
			t.Fatalf("%s: %v", tenant, err)
		}
		if got, _ := conn(t, e, c.ID); got.Status != "active" || got.AccountTID != e.Demo.Contoso.ID {
			t.Fatalf("%s: %+v", tenant, got)
		}
	}
}

func TestConsumerConnection(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "Pat", connections.AccountConsumers, ""))
	if _, err := e.Service.Complete(context.Background(), a, true, e.SignIn(t, authURL, e.Demo.Pat.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}
	if got, _ := conn(t, e, c.ID); got.Status != "active" || got.AccountTID != mssim.ConsumersTenantID {
		t.Fatalf("%+v", got)
	}
	// Microsoft itself turns a work account away at a consumers authority.
	_, authURL = start(t, e, a, codeForm(e, "Pat 2", connections.AccountConsumers, ""))
	_, err := mssim.SignIn(context.Background(), nil, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	var pe *mssim.PageError
	if !errors.As(err, &pe) {
		t.Fatalf("work account at consumers: %v", err)
	}
}

// The authorize URL's authority swapped for common (a tampered link, or a
// flow row pointing elsewhere): an account of another tenant, or of the
// wrong kind, never activates the connection.
func TestAccountTypeAndTenantMismatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	tests := []struct {
		name, tenant, account string
		at                    connections.AccountType
		advice                string
	}{
		{"tenant-specific, other tenant", e.Demo.Contoso.ID, e.Demo.Megan.UPN, connections.AccountTenant, e.Demo.Contoso.ID},
		{"tenant-specific by domain, other tenant", e.Demo.Contoso.Domain, e.Demo.Megan.UPN, connections.AccountTenant, e.Demo.Contoso.Domain},
		{"consumer, work account", "", e.Demo.Adele.UPN, connections.AccountConsumers, "personal Microsoft account"},
		{"organization, personal account", "", e.Demo.Pat.UPN, connections.AccountOrganizations, "work or school account"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := codeForm(e, "mismatch "+string(rune('a'+i)), tt.at, tt.tenant)
			f.Scopes = []string{"Mail.ReadWrite"} // no .Shared: Fabrikam would want an admin
			c, authURL := start(t, e, a, f)
			authority := connections.Authority(tt.at, tt.tenant)
			tampered := strings.Replace(authURL, "/"+authority+"/", "/common/", 1)

			// Only the link: the code is redeemed at the connection's own
			// authority, which refuses it.
			_, err := e.Service.Complete(ctx, a, true, e.SignIn(t, tampered, tt.account, mssim.SignInOptions{}))
			if p := new(connections.Problem); !errors.As(err, &p) || p.Kind == connections.ProblemState {
				t.Fatalf("tampered link: %v", err)
			}
			// The link and the flow row: the broker's own account check.
			_, authURL = retry(t, e, a, c.ID)
			setFlowAuthority(t, e, c.ID, "common")
			tampered = strings.Replace(authURL, "/"+authority+"/", "/common/", 1)
			_, err = e.Service.Complete(ctx, a, true, e.SignIn(t, tampered, tt.account, mssim.SignInOptions{}))
			p := wantProblem(t, err, connections.ProblemAccount)
			if !strings.Contains(p.Message, tt.advice) {
				t.Errorf("advice %q does not name %q", p.Message, tt.advice)
			}
			got, cr := conn(t, e, c.ID)
			if got.Status != "pending" || cr.RefreshToken != "" || got.AccountOID != "" {
				t.Fatalf("mismatched account was kept: %+v", got)
			}
		})
	}
}

func retry(t *testing.T, e *conntest.Env, a connections.Actor, id string) (string, string) {
	t.Helper()
	u, err := e.Service.Reconnect(context.Background(), a, id)
	if err != nil {
		t.Fatal(err)
	}
	return id, u
}

func setFlowAuthority(t *testing.T, e *conntest.Env, connID, authority string) {
	t.Helper()
	db := conntest.Raw(t, e.DBURL)
	if _, err := db.Exec(context.Background(), `UPDATE oauth_flows SET authority = $2 WHERE connection_id = $1 AND used_at IS NULL`,
		connID, authority); err != nil {
		t.Fatal(err)
	}
}

func TestCancelKeepsConnectionPending(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Member, "b")
	c, authURL := start(t, e, a, codeForm(e, "cancelled", connections.AccountCommon, ""))
	_, err := e.Service.Complete(context.Background(), a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{Cancel: true}))
	p := wantProblem(t, err, connections.ProblemCancelled)
	if p.Connection == nil || p.Connection.ID != c.ID || p.Code != "AADSTS65004" {
		t.Fatalf("problem %+v", p)
	}
	got, cr := conn(t, e, c.ID)
	if got.Status != "pending" || cr.RefreshToken != "" || got.StatusCode != "AADSTS65004" || got.StatusReason == "" {
		t.Fatalf("after cancel: %+v", got)
	}
	// Try again on the same connection.
	_, authURL = retry(t, e, a, c.ID)
	if _, err := e.Service.Complete(context.Background(), a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}
	if got, _ := conn(t, e, c.ID); got.Status != "active" {
		t.Fatalf("retry: %+v", got)
	}
}

func TestFewerScopesGranted(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "partial", connections.AccountCommon, ""))
	res, err := e.Service.Complete(context.Background(), a, true,
		e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{Untick: []string{"Mail.Send", "Calendars.ReadWrite"}}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Missing, []string{"Mail.Send", "Calendars.ReadWrite"}) {
		t.Fatalf("missing %v", res.Missing)
	}
	got, _ := conn(t, e, c.ID)
	if got.Status != "active" || slices.Contains(got.GrantedScopes, "Mail.Send") || !slices.Contains(got.GrantedScopes, "Mail.ReadWrite") ||
		!strings.Contains(got.StatusReason, "Mail.Send, Calendars.ReadWrite") {
		t.Fatalf("%+v", got)
	}
	if m := connections.MissingScopes(got.RequestedScopes, got.GrantedScopes); len(m) != 2 {
		t.Fatalf("stored scopes do not show what is missing: %v", m)
	}
}

func TestNoRefreshTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "no offline", connections.AccountCommon, ""))
	_, err := e.Service.Complete(context.Background(), a, true,
		e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{Untick: []string{"offline_access"}}))
	wantProblem(t, err, connections.ProblemMicrosoft)
	if got, _ := conn(t, e, c.ID); got.Status != "pending" || got.HasRefreshToken || got.AccountOID != "" {
		t.Fatalf("%+v", got)
	}
}

func TestStateProblemsTouchNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "mine")
	c, authURL := start(t, e, a, codeForm(e, "guarded", connections.AccountCommon, ""))
	params := e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	before, _ := e.Store.StatusEvents(ctx, e.Tenant.ID, c.ID, 10)

	other := e.Actor(e.Admin, "someone else's browser")
	tampered := params
	tampered.State = params.State[:len(params.State)-2] + "xy"
	otherTenant := a
	otherTenant.TenantID = mustTenant(t, e, "globex")
	for name, call := range map[string]func() error{
		"another browser session": func() error { _, err := e.Service.Complete(ctx, other, true, params); return err },
		"tampered state":          func() error { _, err := e.Service.Complete(ctx, a, true, tampered); return err },
		"no state": func() error {
			_, err := e.Service.Complete(ctx, a, true, connections.CallbackParams{Code: params.Code})
			return err
		},
		"another tenant": func() error { _, err := e.Service.Complete(ctx, otherTenant, true, params); return err },
	} {
		p := wantProblem(t, call(), connections.ProblemState)
		if p.Connection != nil {
			t.Errorf("%s: problem names a connection", name)
		}
	}
	_, err := e.Service.Complete(ctx, connections.Actor{}, false, params)
	wantProblem(t, err, connections.ProblemSession)
	if v, _ := e.MS.Seen(); len(v) != 0 {
		t.Fatal("a refused callback redeemed the code")
	}
	after, _ := e.Store.StatusEvents(ctx, e.Tenant.ID, c.ID, 10)
	if got, _ := conn(t, e, c.ID); got.Status != "pending" || len(after) != len(before) || got.StatusReason != "" {
		t.Fatalf("a refused callback changed the connection: %+v", got)
	}
	// None of that burned the real flow.
	if _, err := e.Service.Complete(ctx, a, true, params); err != nil {
		t.Fatalf("the right browser after the refusals: %v", err)
	}
}

func mustTenant(t *testing.T, e *conntest.Env, slug string) string {
	t.Helper()
	tn, err := e.Store.CreateTenant(context.Background(), slug, slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func TestReplayUnderRace(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "raced", connections.AccountCommon, ""))
	params := e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := e.Service.Complete(context.Background(), a, true, params)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantProblem(t, err, connections.ProblemState)
	}
	if wins != 1 {
		t.Fatalf("%d callbacks won, want 1", wins)
	}
	if v, _ := e.MS.Seen(); len(v) != 1 {
		t.Fatalf("code redeemed %d times", len(v))
	}
	if got, _ := conn(t, e, c.ID); got.Status != "active" {
		t.Fatalf("%+v", got)
	}
	// And once more, later: a replay.
	_, err := e.Service.Complete(context.Background(), a, true, params)
	wantProblem(t, err, connections.ProblemState)
}

func TestExpiredFlow(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "slow", connections.AccountCommon, ""))
	params := e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	e.Clock.Advance(connections.FlowTTL + time.Second)
	_, err := e.Service.Complete(context.Background(), a, true, params)
	wantProblem(t, err, connections.ProblemState)
	if got, _ := conn(t, e, c.ID); got.Status != "pending" || got.StatusReason != "" {
		t.Fatalf("%+v", got)
	}
}

func TestCodeExchangeFailureShowsCodeAndTrace(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "exchange", connections.AccountCommon, ""))
	params := e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	e.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Grant: "authorization_code", Error: "invalid_grant", Code: 70000, Times: 1})
	_, err := e.Service.Complete(context.Background(), a, true, params)
	p := wantProblem(t, err, connections.ProblemMicrosoft)
	if p.Code != "AADSTS70000" || p.TraceID == "" || strings.Contains(p.Summary, "{") {
		t.Fatalf("problem %+v", p)
	}
	got, _ := conn(t, e, c.ID)
	if got.Status != "pending" || got.StatusCode != "AADSTS70000" || got.StatusTraceID != p.TraceID || got.HasRefreshToken {
		t.Fatalf("%+v", got)
	}
}

func TestGraphFailureSavesNothing(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "graph", connections.AccountCommon, ""))
	params := e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	e.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointGraph, Grant: "me", Status: 503, Times: 1})
	_, err := e.Service.Complete(context.Background(), a, true, params)
	wantProblem(t, err, connections.ProblemGraph)
	if got, _ := conn(t, e, c.ID); got.Status != "pending" || got.HasRefreshToken || got.AccountOID != "" {
		t.Fatalf("%+v", got)
	}
}

func TestAdminConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	// Fabrikam's users may not consent to .Shared scopes themselves.
	c, authURL := start(t, e, a, codeForm(e, "megan", connections.AccountTenant, e.Demo.Fabrikam.Domain))
	_, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Megan.UPN, mssim.SignInOptions{}))
	p := wantProblem(t, err, connections.ProblemConsent)
	if p.Code != "AADSTS65001" || !p.CanAdminConsent || !strings.Contains(p.AdminConsentLink, "/"+e.Demo.Fabrikam.Domain+"/v2.0/adminconsent?") ||
		!strings.Contains(p.AdminConsentLink, url.QueryEscape("https://graph.microsoft.com/.default")) {
		t.Fatalf("problem %+v", p)
	}
	if got, _ := conn(t, e, c.ID); got.Status != "pending" || got.StatusCode != "AADSTS65001" {
		t.Fatalf("%+v", got)
	}

	// A non-admin at the admin consent endpoint; then an admin who declines.
	for _, step := range []struct {
		account string
		opts    mssim.SignInOptions
		code    string
	}{
		{e.Demo.Megan.UPN, mssim.SignInOptions{}, "AADSTS90094"},
		{e.Demo.FabrikamAdmin.UPN, mssim.SignInOptions{Cancel: true}, "AADSTS65004"},
	} {
		consentURL, err := e.Service.AdminConsent(ctx, a, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Service.Complete(ctx, a, true, e.SignIn(t, consentURL, step.account, step.opts))
		if p := wantProblem(t, err, connections.ProblemConsent); p.Code != step.code {
			t.Fatalf("admin consent by %s: code %s, want %s", step.account, p.Code, step.code)
		}
	}

	// The admin consents; the tenant value in the callback is not what
	// decides which connection it was for.
	consentURL, err := e.Service.AdminConsent(ctx, a, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	params := e.SignIn(t, consentURL, e.Demo.FabrikamAdmin.UPN, mssim.SignInOptions{})
	if params.AdminConsent != "True" {
		t.Fatalf("admin consent answer %+v", params)
	}
	res, err := e.Service.Complete(ctx, a, true, params)
	if err != nil || res.Kind != connections.ResultAdminConsent || res.Connection.ID != c.ID {
		t.Fatalf("admin consent: %+v %v", res, err)
	}
	if _, err := e.Service.Complete(ctx, a, true, params); err == nil {
		t.Fatal("admin consent state replayed")
	}
	_, authURL = retry(t, e, a, c.ID)
	if _, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Megan.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatalf("sign in after admin consent: %v", err)
	}
	if got, _ := conn(t, e, c.ID); got.Status != "active" || got.AccountTID != e.Demo.Fabrikam.ID {
		t.Fatalf("%+v", got)
	}
	ev, _ := e.Store.ListAudit(ctx, e.Tenant.ID, store.AuditFilter{ConnectionID: c.ID, Action: "connection.admin_consent_granted"})
	if len(ev) != 1 {
		t.Fatalf("admin consent not audited: %+v", ev)
	}

	// Common and Consumer connections have no admin to ask.
	cc, _ := start(t, e, a, codeForm(e, "common", connections.AccountCommon, ""))
	if _, err := e.Service.AdminConsent(ctx, a, cc.ID); !errors.Is(err, connections.ErrNoAdmin) {
		t.Fatalf("admin consent for common: %v", err)
	}
}

func TestForwardedAdminConsentChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	c, _ := start(t, e, a, codeForm(e, "org", connections.AccountOrganizations, ""))
	link := e.Service.AdminConsentLink(c)
	if !strings.Contains(link, "/organizations/v2.0/adminconsent?") || strings.Contains(link, "state=") {
		t.Fatalf("link %s", link)
	}
	params := e.SignIn(t, link, e.Demo.FabrikamAdmin.UPN, mssim.SignInOptions{})
	res, err := e.Service.Complete(ctx, connections.Actor{}, false, params)
	if err != nil || res.Kind != connections.ResultForwardedConsent {
		t.Fatalf("%+v %v", res, err)
	}
	params = e.SignIn(t, link, e.Demo.FabrikamAdmin.UPN, mssim.SignInOptions{Cancel: true})
	_, err = e.Service.Complete(ctx, connections.Actor{}, false, params)
	if p := wantProblem(t, err, connections.ProblemMicrosoft); p.Code != "AADSTS65004" {
		t.Fatalf("%+v", p)
	}
	if got, _ := conn(t, e, c.ID); got.Status != "pending" || got.StatusReason != "" {
		t.Fatalf("%+v", got)
	}
}

func TestReconnect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.Actor(e.Admin, "b")
	c, authURL := start(t, e, a, codeForm(e, "long-lived", connections.AccountCommon, ""))
	if _, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})); err != nil {
		t.Fatal(err)
	}
	_, first := conn(t, e, c.ID)

	// A failed reconnect leaves everything as it was.
	_, authURL = retry(t, e, a, c.ID)
	params := e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{})
	e.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Grant: "authorization_code", Status: 503, Times: 1})
	_, err := e.Service.Complete(ctx, a, true, params)
	wantProblem(t, err, connections.ProblemMicrosoft)
	if got, cr := conn(t, e, c.ID); got.Status != "active" || cr.RefreshToken != first.RefreshToken || got.StatusReason != "" {
		t.Fatalf("failed reconnect changed the connection: %+v", got)
	}

	// Another account is refused: API consumers expect the same mailbox.
	_, authURL = retry(t, e, a, c.ID)
	_, err = e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Alex.UPN, mssim.SignInOptions{}))
	p := wantProblem(t, err, connections.ProblemOtherAccount)
	if !strings.Contains(p.Message, e.Demo.Adele.UPN) || !strings.Contains(p.Message, e.Demo.Alex.UPN) {
		t.Fatalf("message %q", p.Message)
	}
	if got, cr := conn(t, e, c.ID); got.AccountOID != e.Demo.Adele.ObjectID || cr.RefreshToken != first.RefreshToken {
		t.Fatalf("other account replaced credentials: %+v", got)
	}

	// The refresh token dies; the same account signs in again, by another user of the tenant.
	if err := e.Sim.RevokeUser(e.Demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	m := e.Actor(e.Member, "member's browser")
	_, authURL = retry(t, e, m, c.ID)
	res, err := e.Service.Complete(ctx, m, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{}))
	if err != nil || res.Kind != connections.ResultReconnected || res.Connection.ID != c.ID {
		t.Fatalf("reconnect: %+v %v", res, err)
	}
	got, cr := conn(t, e, c.ID)
	if got.Status != "active" || cr.RefreshToken == first.RefreshToken || cr.RefreshToken == "" {
		t.Fatalf("credentials not replaced: %+v", got)
	}
	ev, _ := e.Store.ListAudit(ctx, e.Tenant.ID, store.AuditFilter{ConnectionID: c.ID, Action: "connection.reconnected"})
	if len(ev) != 1 || ev[0].ActorID != e.Member.ID || ev[0].ActorLabel != e.Member.Email {
		t.Fatalf("reconnect audit %+v", ev)
	}
	conntest.AssertNoPlaintext(t, e.DBURL, first.RefreshToken, cr.RefreshToken, cr.AccessToken)
}

func TestProjectsAndNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.Actor(e.Member, "b")
	ps, err := e.Service.Projects(ctx, m)
	if err != nil || len(ps) != 1 || ps[0].ID != e.Sales.ID {
		t.Fatalf("member's projects %+v %v", ps, err)
	}
	f := codeForm(e, "x", connections.AccountCommon, "")
	f.ProjectID = e.Support.ID
	if _, err := e.Service.Submit(ctx, m, f); !errors.Is(err, connections.ErrInvalid) || f.Errors[connections.FieldProject] == "" {
		t.Fatalf("member in another project: %v %v", err, f.Errors)
	}
	a := e.Actor(e.Admin, "b")
	c, _ := start(t, e, a, &connections.Form{Name: "Shared", ProjectID: e.Support.ID, AccountType: connections.AccountCommon, AuthType: connections.AuthCode})
	if _, err := e.Service.Connection(ctx, m, c.ID); !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("member sees a connection of another project: %v", err)
	}
	if _, err := e.Service.Reconnect(ctx, m, c.ID); !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("member reconnects a connection of another project: %v", err)
	}
	dup := &connections.Form{Name: " shared ", ProjectID: e.Support.ID, AccountType: connections.AccountCommon, AuthType: connections.AuthCode}
	if _, err := e.Service.Submit(ctx, a, dup); !errors.Is(err, connections.ErrInvalid) || dup.TakenBy != c.ID {
		t.Fatalf("duplicate name: %v %+v", err, dup)
	}
	// The same name in another project is fine.
	start(t, e, a, &connections.Form{Name: "Shared", ProjectID: e.Sales.ID, AccountType: connections.AccountCommon, AuthType: connections.AuthCode})
}
