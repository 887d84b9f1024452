package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/testdb"
)

// The broker configured with BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE and
// _KEY_FILE and no client secret: the app's provider redeems a sign-in's
// code and refreshes with client assertions (the app's secrets are expired
// at the sim, so a secret could not have worked), and the app's health
// carries the certificate's expiry.
func TestBrokerAppCertificateFromConfig(t *testing.T) {
	ctx := context.Background()
	sim := mssim.New(mssim.Options{})
	ms := httptest.NewServer(sim.Handler())
	defer ms.Close()
	now := time.Now()
	cert := certtest.New(t, 0, "broker", now.Add(-time.Hour), now.AddDate(0, 0, 20))
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certtest.CertPEM(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, certtest.KeyPEM(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfigFrom(t, map[string]string{"BROKER_DATABASE_URL": testdb.New(t), "BROKER_ENCRYPTION_KEYS": keys,
		"BROKER_SESSION_KEYS": keys, "BROKER_MICROSOFT_CLIENT_ID": mssim.DemoWebClientID, "BROKER_LISTEN_ADDR": "127.0.0.1:0",
		"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE": certFile, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE": keyFile,
		"BROKER_MICROSOFT_LOGIN_URL": ms.URL, "BROKER_MICROSOFT_GRAPH_URL": ms.URL, "BROKER_SHUTDOWN_DELAY": "0s"})
	if cfg.MicrosoftClientSecret != "" || cfg.MicrosoftCertificate == nil {
		t.Fatal("the configuration did not take the certificate")
	}
	demo := mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL()}})
	if err := sim.AddCertificate(mssim.DemoWebClientID, certtest.CertPEM(cert)); err != nil {
		t.Fatal(err)
	}
	if err := sim.ExpireAppSecrets(mssim.DemoWebClientID); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	verifier := oauth2.GenerateVerifier()
	authURL := a.Provider.AuthorizeURL(oauth.AuthorizeRequest{Authority: "common", State: "state-0123456789",
		CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), Nonce: "nonce-0123456789", Scopes: mssim.OutlookScopes})
	back, err := mssim.SignIn(ctx, &http.Client{}, authURL, demo.Adele.UPN, mssim.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Guarded.Exchange(ctx, "common", back.Query().Get("code"), verifier)
	if err != nil {
		t.Fatalf("code exchange by certificate: %v", err)
	}
	if _, err := a.Guarded.Refresh(ctx, "common", tok.RefreshToken); err != nil {
		t.Fatalf("refresh by certificate: %v", err)
	}
	if got := sim.Count(mssim.EndpointToken, "refresh_token"); got != 1 {
		t.Fatalf("%d refreshes reached the sim", got)
	}
	if d := a.Health.Detail(); d != "microsoft_app: ok; certificate expires "+cert.NotAfter().UTC().Format(time.RFC3339) {
		t.Fatalf("/readyz detail %q", d)
	}
}
