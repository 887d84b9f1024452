package mssim

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// idClaims signs account in (with a jar, so the sim keeps its session) and
// returns the verified id_token's claims.
func (e *testEnv) idClaims(t *testing.T, client *http.Client, account string, params map[string]string) map[string]any {
	t.Helper()
	q := e.signIn(client, e.authURL("organizations", params), account, SignInOptions{})
	r := e.postToken("organizations", e.webForm("grant_type", "authorization_code", "code", q.Get("code"),
		"redirect_uri", DemoRedirectURI, "code_verifier", testVerifier))
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.raw)
	}
	return verifyIDToken(t, e, r.ok.IDToken)
}

// The id_token for signing in to an app carries tid, oid, nonce, auth_time
// (the app asks for it as an optional claim), groups and roles as configured.
func TestIDTokenSignInClaims(t *testing.T) {
	e := newTestEnv(t)
	const g1, g2 = "11111111-2222-4333-8444-555555555555", "66666666-7777-4888-8999-aaaaaaaaaaaa"
	if err := e.sim.SetUserGroups(e.demo.Adele.UPN, []string{g1, g2}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AssignAppRoles(e.demo.Adele.UPN, e.demo.WebApp.ClientID, []string{"Broker.Admin"}); err != nil {
		t.Fatal(err)
	}
	c := e.idClaims(t, jarClient(t), e.demo.Adele.UPN, nil)
	groups, _ := c["groups"].([]any)
	roles, _ := c["roles"].([]any)
	if c["tid"] != e.demo.Contoso.ID || c["oid"] != e.demo.Adele.ObjectID || c["nonce"] != "n-456" ||
		c["auth_time"] != float64(testStart.Unix()) || len(groups) != 2 || groups[0] != g1 ||
		len(roles) != 1 || roles[0] != "Broker.Admin" {
		t.Fatalf("claims %v", c)
	}
	// Alex has neither: no groups claim, no roles claim (absent, not empty).
	c = e.idClaims(t, jarClient(t), e.demo.Alex.UPN, nil)
	if _, ok := c["groups"]; ok {
		t.Fatalf("groups claim without groups: %v", c)
	}
	if _, ok := c["roles"]; ok {
		t.Fatalf("roles claim without assignments: %v", c)
	}
	// Roles must be defined on the app; groups must be object IDs.
	if err := e.sim.AssignAppRoles(e.demo.Alex.UPN, e.demo.WebApp.ClientID, []string{"Superuser"}); err == nil {
		t.Fatal("an undefined app role was assigned")
	}
	if err := e.sim.SetUserGroups(e.demo.Alex.UPN, []string{"Sales"}); err == nil {
		t.Fatal("a group name was accepted as a group object ID")
	}
}

// More than 200 groups: the claim is left out and the overage claim points
// at Graph (id-token-claims-reference, groups:src1).
func TestIDTokenGroupsOverage(t *testing.T) {
	e := newTestEnv(t)
	var many []string
	for i := range 201 {
		many = append(many, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	if err := e.sim.SetUserGroups(e.demo.Adele.UPN, many); err != nil {
		t.Fatal(err)
	}
	c := e.idClaims(t, jarClient(t), e.demo.Adele.UPN, nil)
	names, _ := c["_claim_names"].(map[string]any)
	if _, ok := c["groups"]; ok || names["groups"] != "src1" || c["_claim_sources"] == nil {
		t.Fatalf("201 groups: %v", c)
	}
	// 200 fit.
	if err := e.sim.SetUserGroups(e.demo.Adele.UPN, many[:200]); err != nil {
		t.Fatal(err)
	}
	c = e.idClaims(t, jarClient(t), e.demo.Adele.UPN, nil)
	if g, _ := c["groups"].([]any); len(g) != 200 {
		t.Fatalf("200 groups: %d in the claim", len(g))
	}
}

// auth_time is the last credential entry: prompt=login makes a new one even
// with a session; a silent answer keeps the session's; max_age older than
// the session refuses a silent answer; a malformed max_age is refused.
func TestAuthTimePromptLoginAndMaxAge(t *testing.T) {
	e := newTestEnv(t)
	jar := jarClient(t)
	first := e.idClaims(t, jar, e.demo.Adele.UPN, nil)["auth_time"].(float64)
	e.sim.Advance(20 * time.Minute)

	silent := e.signIn(jar, e.authURL("organizations", map[string]string{"prompt": "none"}), "", SignInOptions{})
	r := e.postToken("organizations", e.webForm("grant_type", "authorization_code", "code", silent.Get("code"),
		"redirect_uri", DemoRedirectURI, "code_verifier", testVerifier))
	if got := verifyIDToken(t, e, r.ok.IDToken)["auth_time"].(float64); got != first {
		t.Fatalf("silent sign-in auth_time %v, want the session's %v", got, first)
	}

	q := e.signIn(jar, e.authURL("organizations", map[string]string{"prompt": "none", "max_age": "600"}), "", SignInOptions{})
	if errc, code := redirectCode(q); errc != "login_required" || code != "50058" {
		t.Fatalf("prompt=none, max_age 600 s, session 20 min old: %v", q)
	}

	fresh := e.idClaims(t, jar, e.demo.Adele.UPN, map[string]string{"prompt": "login", "max_age": "0"})["auth_time"].(float64)
	if want := float64(testStart.Add(20 * time.Minute).Unix()); fresh != want {
		t.Fatalf("prompt=login auth_time %v, want %v (now)", fresh, want)
	}

	for _, bad := range []string{"-1", "ten", "1.5"} {
		q := e.signIn(jar, e.authURL("organizations", map[string]string{"max_age": bad}), e.demo.Adele.UPN, SignInOptions{})
		if errc, code := redirectCode(q); errc != "invalid_request" || code != "90100" {
			t.Fatalf("max_age=%s: %v", bad, q)
		}
	}
}

// auth_time is an optional claim: an app that did not ask gets none.
func TestAuthTimeOnlyWhenConfigured(t *testing.T) {
	e := newTestEnv(t)
	if err := e.sim.RegisterApp(App{ClientID: "22223333-cccc-4444-dddd-5555eeee6666", HomeTenant: e.demo.Contoso.ID,
		RedirectURIs: []string{DemoRedirectURI}, Secrets: []Secret{{Value: "s3cret", Expires: testStart.AddDate(1, 0, 0)}},
		Scopes: []string{"openid", "profile"}}); err != nil {
		t.Fatal(err)
	}
	q := e.signIn(jarClient(t), e.authURL("organizations", map[string]string{"client_id": "22223333-cccc-4444-dddd-5555eeee6666",
		"scope": "openid profile"}), e.demo.Adele.UPN, SignInOptions{})
	r := e.postToken("organizations", e.webForm("client_id", "22223333-cccc-4444-dddd-5555eeee6666", "client_secret", "s3cret",
		"grant_type", "authorization_code", "code", q.Get("code"), "redirect_uri", DemoRedirectURI, "code_verifier", testVerifier))
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.raw)
	}
	other := *e
	other.demo.WebApp.ClientID = "22223333-cccc-4444-dddd-5555eeee6666" // the audience to check
	claims := verifyIDToken(t, &other, r.ok.IDToken)
	if _, ok := claims["auth_time"]; ok || !slices.Contains([]string{e.demo.Contoso.ID}, claims["tid"].(string)) {
		t.Fatalf("app without the optional claim: %v", claims)
	}
}
