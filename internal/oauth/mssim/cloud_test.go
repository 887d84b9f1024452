package mssim

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newCloudEnv(t *testing.T, cloud string) *testEnv {
	t.Helper()
	sim := New(Options{Now: func() time.Time { return testStart }, Cloud: cloud})
	demo := SeedDemo(sim, DemoConfig{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, sim: sim, demo: demo, srv: srv}
}

// Each cloud accepts its own Graph resource and refuses every other cloud's
// with AADSTS500011, for client credentials, admin consent and delegated
// sign-in; granted scopes come back in the cloud's form.
func TestCloudGraphResource(t *testing.T) {
	for cloud, res := range cloudGraph {
		t.Run(cloud, func(t *testing.T) {
			e := newCloudEnv(t, cloud)
			cc := func(scope string) tokenResult {
				return e.postToken(e.demo.Contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
					"client_secret": {DemoDaemonClientSecret}, "scope": {scope}})
			}
			if r := cc(res + "/.default"); r.status != 200 || r.ok.AccessToken == "" {
				t.Fatalf("client credentials with %s/.default: HTTP %d %+v", res, r.status, r.err)
			}
			for other, otherRes := range cloudGraph {
				if other == cloud {
					continue
				}
				wantTokenError(t, cc(otherRes+"/.default"), 400, "invalid_resource", 500011)
				// Admin consent names the resource in scope too.
				q := url.Values{"client_id": {DemoWebClientID}, "redirect_uri": {DemoRedirectURI}, "state": {"s"}, "scope": {otherRes + "/.default"}}
				if loc := firstHop(t, e.srv.URL+"/"+DemoContosoDomain+"/v2.0/adminconsent?"+q.Encode()); !strings.Contains(loc, "AADSTS500011") {
					t.Fatalf("admin consent with %s in %s: %s", otherRes, cloud, loc)
				}
				// A delegated sign-in asking for another cloud's scope.
				if loc := firstHop(t, e.authURL("common", map[string]string{"scope": "openid " + otherRes + "/Mail.Read"})); !strings.Contains(loc, "AADSTS500011") {
					t.Fatalf("authorize with %s in %s: %s", otherRes, cloud, loc)
				}
			}
			// Admin consent in the cloud's own form is granted, in that form.
			q := url.Values{"client_id": {DemoWebClientID}, "redirect_uri": {DemoRedirectURI}, "state": {"s"}, "scope": {res + "/.default"}}
			back, err := SignIn(context.Background(), jarClient(t), e.srv.URL+"/"+DemoFabrikamDomain+"/v2.0/adminconsent?"+q.Encode(), e.demo.FabrikamAdmin.UPN, SignInOptions{})
			if err != nil || back.Query().Get("admin_consent") != "True" || !strings.Contains(back.Query().Get("scope"), res+"/Mail.ReadWrite.Shared") {
				t.Fatalf("admin consent: %v %v", back, err)
			}
			// Delegated: asked in the cloud's form (and bare), granted in it.
			tr := e.redeem("common", e.demo.Adele.UPN, map[string]string{"scope": "openid offline_access " + res + "/User.Read Mail.Read"})
			for _, want := range []string{res + "/User.Read", res + "/Mail.Read", "openid"} {
				if !strings.Contains(tr.Scope, want) {
					t.Fatalf("granted %q lacks %s", tr.Scope, want)
				}
			}
			if cloud != "global" && strings.Contains(tr.Scope, GraphResource) {
				t.Fatalf("granted %q names the global Graph", tr.Scope)
			}
			if r := e.refresh("common", tr.RefreshToken, "scope", res+"/Mail.Read offline_access"); r.status != 200 || !strings.Contains(r.ok.Scope, res+"/Mail.Read") {
				t.Fatalf("refresh in the cloud's form: HTTP %d %q", r.status, r.ok.Scope)
			}
		})
	}
}

func TestCloudUnknown(t *testing.T) {
	if _, err := CloudGraphResource("mars"); err == nil {
		t.Fatal("an unknown cloud was accepted")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted an unknown cloud")
		}
	}()
	New(Options{Cloud: "mars"})
}
