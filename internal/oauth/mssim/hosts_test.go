package mssim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// newHostsEnv is a test env whose sim runs on three origins.
func newHostsEnv(t *testing.T) (*testEnv, *Servers) {
	t.Helper()
	srvs := StartServers(Options{Now: func() time.Time { return testStart }})
	t.Cleanup(srvs.Close)
	demo := SeedDemo(srvs.Sim, DemoConfig{})
	return &testEnv{t: t, sim: srvs.Sim, demo: demo, srv: srvs.Login}, srvs
}

// firstHop GETs u and returns where the sim redirects it.
func firstHop(t *testing.T, u string) string {
	t.Helper()
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Location")
}

func TestHostsRedirectBeforeAnyPage(t *testing.T) {
	e, srvs := newHostsEnv(t)
	cases := []struct {
		name, tenant string
		params       map[string]string
		want         string // prefix of the first redirect; "" for a page
	}{
		{"consumers go to the Microsoft account host", "consumers", nil, srvs.MSA.URL + msaAuthorizePath + "?"},
		{"a personal login_hint on common too", "common", map[string]string{"login_hint": e.demo.Pat.UPN}, srvs.MSA.URL + msaAuthorizePath},
		{"a federated login_hint goes to the IdP", "common", map[string]string{"login_hint": e.demo.Lee.UPN}, srvs.IdP.URL + idpPath + "?wa=wsignin1.0"},
		{"so does a federated domain_hint", "organizations", map[string]string{"domain_hint": DemoNorthwindFederatedDomain}, srvs.IdP.URL + idpPath},
		{"a managed domain_hint stays", "organizations", map[string]string{"domain_hint": DemoNorthwindDomain}, ""},
		{"a work login_hint stays", "common", map[string]string{"login_hint": e.demo.Adele.UPN}, ""},
		{"a federated hint for another tenant stays", DemoContosoDomain, map[string]string{"domain_hint": DemoNorthwindFederatedDomain}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := firstHop(t, e.authURL(c.tenant, c.params))
			if c.want == "" && got != "" || !strings.HasPrefix(got, c.want) {
				t.Fatalf("first redirect %q, want %q", got, c.want)
			}
		})
	}
}

func TestHostsSignInAcrossOrigins(t *testing.T) {
	e, _ := newHostsEnv(t)
	for _, c := range []struct{ tenant, account string }{
		{"consumers", e.demo.Pat.UPN},
		{"common", e.demo.Pat.UPN},
		{"common", e.demo.Lee.UPN},
		{DemoNorthwindTenantID, e.demo.Lee.UPN},
		{"organizations", e.demo.Lee.UPN},
	} {
		tr := e.redeem(c.tenant, c.account, nil)
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tr.IDToken, ".")[1])
		var claims struct {
			User string `json:"preferred_username"`
		}
		if err != nil || json.Unmarshal(payload, &claims) != nil || claims.User != c.account {
			t.Fatalf("%s on %s: id_token for %q (%v)", c.account, c.tenant, claims.User, err)
		}
	}
}

func TestHostsRefuseTheWrongAccounts(t *testing.T) {
	e, _ := newHostsEnv(t)
	// A work account typed at the Microsoft account host.
	_, err := SignIn(context.Background(), jarClient(t), e.authURL("consumers", nil), e.demo.Adele.UPN, SignInOptions{})
	if got := pageCode(t, err); got != 500208 {
		t.Fatalf("work account at the MSA host: AADSTS%d, want 500208", got)
	}
	// A managed account typed at the IdP is not one of its users.
	_, err = SignIn(context.Background(), jarClient(t), e.authURL("common", map[string]string{"login_hint": e.demo.Lee.UPN}), e.demo.Adele.UPN, SignInOptions{})
	if err == nil || !strings.Contains(err.Error(), "Incorrect user ID") {
		t.Fatalf("work account at the IdP: %v", err)
	}
	// A federated account on organizations of another tenant: 50020 after the IdP.
	_, err = SignIn(context.Background(), jarClient(t), e.authURL(DemoContosoDomain, nil), e.demo.Lee.UPN, SignInOptions{})
	if got := pageCode(t, err); got != 50020 {
		t.Fatalf("Northwind account on Contoso: AADSTS%d, want 50020", got)
	}
}

func TestHostsAssertionIsSingleUse(t *testing.T) {
	e, srvs := newHostsEnv(t)
	c := jarClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	idp := firstHop(t, e.authURL("common", map[string]string{"login_hint": e.demo.Lee.UPN}))
	ctx := idp[strings.Index(idp, "wctx=")+5:]
	ctx = ctx[:strings.Index(ctx, "&")]
	res, err := c.PostForm(srvs.IdP.URL+idpPath, map[string][]string{"ctx": {ctx}, "login": {e.demo.Lee.UPN}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if !strings.HasPrefix(back, srvs.Login.URL+fedReturnPath+"?") {
		t.Fatalf("the IdP returned to %q", back)
	}
	for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
		res, err := c.Get(back)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("return %d: HTTP %d, want %d", i+1, res.StatusCode, want)
		}
	}
}
