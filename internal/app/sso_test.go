package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// A linked Entra tenant's person signs in with Microsoft and becomes a
// member with no projects; a group rule then makes them admin at the next
// sign-in; an unlinked tenant's person is refused with a page saying why.
func TestSSOSignInCreatesMemberThenGroupRuleMakesAdmin(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	admin := e.linkContoso(t)

	adele := e.client(t)
	r := e.ssoSignIn(t, adele, e.demo.Adele.UPN)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/connections" {
		t.Fatalf("SSO sign-in: %d to %q: %s", r.StatusCode, r.Header.Get("Location"), bodyOf(t, r))
	}
	u, err := e.a.Store.UserBySSOIdentity(ctx, e.seed.TenantID, e.demo.Contoso.ID, e.demo.Adele.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != store.RoleMember || len(u.ProjectIDs) != 0 || u.Email != e.demo.Adele.UPN {
		t.Fatalf("new user: role %s, projects %v, email %s; want a member with no projects", u.Role, u.ProjectIDs, u.Email)
	}
	if r := e.do(t, adele, "GET", "/connections", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("signed in with Microsoft, /connections answers %d", r.StatusCode)
	}

	// The admin adds a rule through the settings form; Adele joins the group.
	projects, err := e.a.Store.ListProjects(ctx, e.seed.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	r = e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"group"}, "value": {strings.ToUpper(ssoGroup)},
		"role": {"admin"}, "project": {projects[0].ID}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add rule: %d %s", r.StatusCode, bodyOf(t, r))
	}
	if err := e.sim.SetUserGroups(e.demo.Adele.UPN, []string{ssoGroup}); err != nil {
		t.Fatal(err)
	}
	again := e.client(t)
	if r := e.ssoSignIn(t, again, e.demo.Adele.UPN); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("second SSO sign-in: %d", r.StatusCode)
	}
	u2, err := e.a.Store.UserBySSOIdentity(ctx, e.seed.TenantID, e.demo.Contoso.ID, e.demo.Adele.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	if u2.ID != u.ID || u2.Role != store.RoleAdmin || !slices.Contains(u2.ProjectIDs, projects[0].ID) {
		t.Fatalf("after the group rule: same user %v, role %s, projects %v", u2.ID == u.ID, u2.Role, u2.ProjectIDs)
	}

	// Fabrikam is not linked.
	megan := e.client(t)
	r = e.ssoSignIn(t, megan, e.demo.Megan.UPN)
	body := bodyOf(t, r)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(body, "not set up for this broker") || !strings.Contains(body, e.demo.Fabrikam.ID) {
		t.Fatalf("unlinked tenant: %d %s", r.StatusCode, body)
	}
	if _, err := e.a.Store.SSOTenantOf(ctx, e.demo.Fabrikam.ID); err == nil {
		t.Fatal("Fabrikam got linked")
	}
	if r := e.do(t, megan, "GET", "/connections", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("refused person reaches /connections: %d", r.StatusCode)
	}
}

// An app role rule gives its role; an invalid rule is a 422 naming the field
// and changes nothing.
func TestSSOAppRoleRuleAndInvalidRule(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	admin := e.linkContoso(t)
	r := e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"group"}, "value": {"Sales team"}, "role": {"admin"}})
	if body := bodyOf(t, r); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "object ID") ||
		!strings.Contains(body, `value="Sales team"`) {
		t.Fatalf("invalid rule: %d %s", r.StatusCode, body)
	}
	if rules, _ := e.a.Store.SSORules(ctx, e.seed.TenantID); len(rules) != 0 {
		t.Fatalf("an invalid rule was stored: %v", rules)
	}
	if r := e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"role"}, "value": {"Broker.Admin"}, "role": {"admin"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("role rule: %d", r.StatusCode)
	}
	if err := e.sim.AssignAppRoles(e.demo.Alex.UPN, e.demo.WebApp.ClientID, []string{"Broker.Admin"}); err != nil {
		t.Fatal(err)
	}
	if r := e.ssoSignIn(t, e.client(t), e.demo.Alex.UPN); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	u, err := e.a.Store.UserBySSOIdentity(ctx, e.seed.TenantID, e.demo.Contoso.ID, e.demo.Alex.ObjectID)
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("app role Broker.Admin: role %q, %v", u.Role, err)
	}

	// Over 200 groups Microsoft sends the overage claim, not the groups: a
	// group rule cannot match, so Adele stays a member.
	if r := e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"group"}, "value": {ssoGroup}, "role": {"admin"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("group rule: %d", r.StatusCode)
	}
	many := []string{ssoGroup}
	for i := range 200 {
		many = append(many, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	if err := e.sim.SetUserGroups(e.demo.Adele.UPN, many); err != nil {
		t.Fatal(err)
	}
	if r := e.ssoSignIn(t, e.client(t), e.demo.Adele.UPN); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with 201 groups: %d", r.StatusCode)
	}
	if u, err := e.a.Store.UserBySSOIdentity(ctx, e.seed.TenantID, e.demo.Contoso.ID, e.demo.Adele.ObjectID); err != nil || u.Role != store.RoleMember {
		t.Fatalf("groups overage: role %q, %v", u.Role, err)
	}
}

// Users are their Entra tid+oid: a broker account with the same address
// that is not that Microsoft account is neither signed in nor merged.
func TestSSOMatchesByTidAndOidNotEmail(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	e.linkContoso(t)
	// A password account already holds Adele's address.
	other, err := e.a.Store.CreateUser(ctx, e.seed.TenantID, e.demo.Adele.UPN, "$argon2id$v=19$m=65536,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", store.RoleAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	r := e.ssoSignIn(t, c, e.demo.Adele.UPN)
	body := bodyOf(t, r)
	if r.StatusCode != http.StatusConflict || !strings.Contains(body, "not this Microsoft account") {
		t.Fatalf("same email, other identity: %d %s", r.StatusCode, body)
	}
	if r := e.do(t, c, "GET", "/connections", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed in as the address's owner: %d", r.StatusCode)
	}
	if _, _, err := e.a.Store.SSOIdentityOf(ctx, e.seed.TenantID, other.ID); err == nil {
		t.Fatal("the password account was tied to the Microsoft account by its address")
	}
	// Two accounts of the linked tenant are two users.
	ac := e.client(t)
	e.ssoSignIn(t, ac, e.demo.Alex.UPN)
	alex, err := e.a.Store.UserBySSOIdentity(ctx, e.seed.TenantID, e.demo.Contoso.ID, e.demo.Alex.ObjectID)
	if err != nil || alex.ID == other.ID {
		t.Fatalf("alex: %v", err)
	}
	// An SSO session is a server-side session like any: it ends when idle.
	if r := e.do(t, ac, "GET", "/connections", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("alex signed in: %d", r.StatusCode)
	}
	e.clock.Advance(31 * time.Minute)
	if r := e.do(t, ac, "GET", "/connections", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("after 31 idle minutes: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// With "require single sign-on", a right password is refused, except for
// the break-glass account the operator named.
func TestSSORequiredRefusesPasswordsExceptBreakGlass(t *testing.T) {
	e := newSSOEnv(t, "Admin@Demo.test")
	admin := e.linkContoso(t)
	if r := e.do(t, admin, "POST", "/settings/sso/require", url.Values{"require": {"on"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("require: %d", r.StatusCode)
	}
	r := e.passwordSignIn(t, e.client(t), app.DemoMemberEmail)
	if body := bodyOf(t, r); r.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign in with Microsoft") {
		t.Fatalf("member's password under require SSO: %d %s", r.StatusCode, body)
	}
	if r := e.passwordSignIn(t, e.client(t), app.DemoAdminEmail); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("break-glass admin's password: %d %s", r.StatusCode, bodyOf(t, r))
	}
	// Allowed again: the member's password works.
	if r := e.do(t, admin, "POST", "/settings/sso/require", url.Values{"require": {"off"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("allow passwords: %d", r.StatusCode)
	}
	if r := e.passwordSignIn(t, e.client(t), app.DemoMemberEmail); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("member's password after allowing: %d", r.StatusCode)
	}
}

// After the re-authentication window, a destructive action sends an SSO
// session to Microsoft with prompt=login and max_age=0; a fresh auth_time
// lets it through, a stale one (a silent answer from an old session) does not.
func TestSSOReauthAsksMicrosoftAndChecksAuthTime(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	admin := e.linkContoso(t)
	e.do(t, admin, "POST", "/settings/sso/rules", url.Values{"claim": {"role"}, "value": {"Broker.Admin"}, "role": {"admin"}})
	if err := e.sim.AssignAppRoles(e.demo.Adele.UPN, e.demo.WebApp.ClientID, []string{"Broker.Admin"}); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	if r := e.ssoSignIn(t, c, e.demo.Adele.UPN); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	confirm := "/connections/" + e.seed.ConnectionID + "/confirm/delete"
	if r := e.do(t, c, "GET", confirm, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("inside the window the confirmation shows: %d", r.StatusCode)
	}

	e.clock.Advance(16 * time.Minute)
	r := e.do(t, c, "GET", confirm, nil)
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/microsoft/reauth?") {
		t.Fatalf("after the window: %d to %q", r.StatusCode, loc)
	}
	start := e.do(t, c, "GET", r.Header.Get("Location"), nil)
	au, err := url.Parse(handoffURL(t, start))
	if err != nil {
		t.Fatal(err)
	}
	q := au.Query()
	if q.Get("prompt") != "login" || q.Get("max_age") != "0" || q.Get("login_hint") != e.demo.Adele.UPN ||
		!strings.Contains(au.Path, e.demo.Contoso.ID) {
		t.Fatalf("re-authentication request %s", au)
	}
	back := e.viaMicrosoftURL(t, c, au.String(), e.demo.Adele.UPN)
	if back.StatusCode != http.StatusSeeOther || back.Header.Get("Location") != confirm {
		t.Fatalf("back from Microsoft: %d to %q: %s", back.StatusCode, back.Header.Get("Location"), bodyOf(t, back))
	}
	if r := e.do(t, c, "GET", confirm, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("confirmed, the page shows: %d", r.StatusCode)
	}

	// Later, an answer carrying the old credential entry is refused: the
	// request is replayed with prompt=none and no max_age, which the sim
	// answers silently from its session (auth_time 16 minutes old).
	e.clock.Advance(16 * time.Minute)
	start = e.do(t, c, "GET", "/login/microsoft/reauth?next="+url.QueryEscape(confirm), nil)
	au, _ = url.Parse(handoffURL(t, start))
	q = au.Query()
	q.Set("prompt", "none")
	q.Del("max_age")
	q.Del("login_hint")
	au.RawQuery = q.Encode()
	silent := e.do(t, c, "GET", au.String(), nil)
	cb := silent.Header.Get("Location")
	if !strings.Contains(cb, "code=") {
		t.Fatalf("silent answer: %d %q", silent.StatusCode, cb)
	}
	r = e.do(t, c, "GET", cb, nil)
	if body := bodyOf(t, r); r.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not ask for your credentials") {
		t.Fatalf("stale auth_time: %d %s", r.StatusCode, body)
	}
	if r := e.do(t, c, "GET", confirm, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a stale confirmation opened the action: %d", r.StatusCode)
	}
	_ = ctx
}

// Cancelling at Microsoft, or replaying a used callback, signs nobody in
// and says why.
func TestSSOCancelAndReplayAreRefused(t *testing.T) {
	e := newSSOEnv(t)
	e.linkContoso(t)
	c := e.client(t)
	loc := handoffURL(t, e.do(t, c, "POST", "/login/microsoft", url.Values{}))
	back, err := mssim.SignIn(context.Background(), c, loc, e.demo.Adele.UPN, mssim.SignInOptions{Cancel: true})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, c, "GET", back.String(), nil)
	if body := bodyOf(t, r); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Microsoft did not sign you in") ||
		!strings.Contains(body, "AADSTS65004") {
		t.Fatalf("cancelled at Microsoft: %d %s", r.StatusCode, body)
	}
	if r := e.do(t, c, "GET", "/connections", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed in after cancelling: %d", r.StatusCode)
	}

	loc = handoffURL(t, e.do(t, c, "POST", "/login/microsoft", url.Values{}))
	back, err = mssim.SignIn(context.Background(), c, loc, e.demo.Adele.UPN, mssim.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, c, "GET", back.String(), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	other := e.client(t) // another browser replays the callback URL (code and state)
	r = e.do(t, other, "GET", back.String(), nil)
	if body := bodyOf(t, r); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no longer valid") {
		t.Fatalf("replayed callback in another browser: %d %s", r.StatusCode, body)
	}
	r = e.do(t, c, "GET", back.String(), nil) // and in the same one: the flow cookie was used
	if body := bodyOf(t, r); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no longer valid") {
		t.Fatalf("replayed callback: %d %s", r.StatusCode, body)
	}
}
