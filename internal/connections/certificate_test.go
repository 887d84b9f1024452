package connections_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens"
)

// The broker's own app proves itself with a certificate for every flow: a
// connection signs in (code exchange) and refreshes with no client secret
// configured, and the app's secrets at the sim are expired so that a
// secret could not have worked anyway.
func TestBrokerAppByCertificate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.Sim.Now()
	cert := certtest.New(t, 0, "broker", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err := e.Sim.AddCertificate(e.Demo.WebApp.ClientID, certtest.CertPEM(cert)); err != nil {
		t.Fatal(err)
	}
	if err := e.Sim.ExpireAppSecrets(e.Demo.WebApp.ClientID); err != nil {
		t.Fatal(err)
	}
	e.MS.ClientSecret, e.MS.Credential = "", cert

	a := e.Actor(e.Admin, "browser-1")
	c, authURL := start(t, e, a, codeForm(e, "Adele by certificate", connections.AccountCommon, ""))
	res, err := e.Service.Complete(ctx, a, true, e.SignIn(t, authURL, e.Demo.Adele.UPN, mssim.SignInOptions{}))
	if err != nil || res.Kind != connections.ResultConnected {
		t.Fatalf("sign-in: %v %+v", err, res)
	}
	_, before := conn(t, e, c.ID)

	svc := tokens.New(e.Store, e.MS, tokens.Options{Now: e.Clock.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(svc.Close)
	refreshes := e.Sim.Count(mssim.EndpointToken, "refresh_token")
	tok, err := svc.Token(ctx, e.Tenant.ID, c.ID, tokens.Request{ForceRefresh: true})
	if err != nil {
		t.Fatalf("refresh by certificate: %v", err)
	}
	got, after := conn(t, e, c.ID)
	switch {
	case e.Sim.Count(mssim.EndpointToken, "refresh_token") != refreshes+1:
		t.Fatal("the refresh did not reach Microsoft")
	case tok.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken:
		t.Fatal("no new tokens from the refresh")
	case got.Status != "active":
		t.Fatalf("status %s", got.Status)
	}

	// The certificate removed from the app: Microsoft answers AADSTS700027,
	// an app credential problem (config), not the user's.
	if err := e.Sim.RemoveCertificates(e.Demo.WebApp.ClientID); err != nil {
		t.Fatal(err)
	}
	_, err = e.MS.Refresh(ctx, "common", after.RefreshToken)
	if oe, ok := err.(*oauth.Error); !ok || oe.AADSTS() != "AADSTS700027" || oe.Class() != oauth.ClassConfig {
		t.Fatalf("after the certificate was removed: %v", err)
	}
}
