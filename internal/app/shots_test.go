package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

// TestScreenshots writes the pages issue 9 changed, at a laptop's and a
// phone's width, to $BROKER_SCREENSHOTS: the broker-app banner, the New
// connection help, and a personal account on Common without .Shared.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("BROKER_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BROKER_SCREENSHOTS to a directory to write screenshots")
	}
	ctx := context.Background()
	sim := mssim.New(mssim.Options{})
	ms := httptest.NewServer(sim.Handler())
	defer ms.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cfg := testConfig(t, testdb.New(t))
	cfg.Demo, cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL, cfg.PublicURL = true, ms.URL, ms.URL, base
	cfg.MicrosoftClientID, cfg.MicrosoftClientSecret = mssim.DemoWebClientID, mssim.DemoWebClientSecret
	demo := mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL()}})
	a, err := app.New(ctx, app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	seed, err := app.SeedDemo(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: a.Handler}}
	hs.Start()
	defer hs.Close()

	// A personal account on Common, granted everything but .Shared.
	projects, err := a.Store.ListProjects(ctx, seed.TenantID)
	if err != nil || len(projects) == 0 {
		t.Fatal(err)
	}
	c, err := a.Store.CreateConnection(ctx, store.NewConnection{TenantID: seed.TenantID, ProjectID: projects[0].ID,
		Name: "Personal mailbox", AccountType: "common", AuthType: "authorization_code", Status: "active",
		RequestedScopes: mssim.OutlookScopes})
	if err != nil {
		t.Fatal(err)
	}
	rt := "rt"
	if _, err := a.Store.UpdateConnection(ctx, seed.TenantID, c.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{RefreshToken: &rt, GrantedScopes: []string{"Mail.Send", "Mail.ReadWrite", "Calendars.ReadWrite", "User.Read", "offline_access"},
			Account: &store.Account{TID: oauth.ConsumersTenantID, Username: demo.Pat.UPN}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The broker's secret has expired at Microsoft.
	if err := sim.ExpireAppSecrets(mssim.DemoWebClientID); err != nil {
		t.Fatal(err)
	}
	a.Guarded.Refresh(ctx, "common", "any")

	for _, width := range []int{1280, 390} {
		b := browsertest.New(t, browsertest.Options{Width: width, Height: 900})
		b.SignIn(base, app.DemoAdminEmail, app.DemoAdminPassword)
		for _, sh := range [][2]string{{"banner-list", "/connections"}, {"new-connection", "/connections/new"},
			{"personal-common", "/connections/" + c.ID}} {
			b.Do("open "+sh[1], chromedp.Navigate(base+sh[1]), chromedp.WaitReady(chromedp.CSS("body")))
			b.SaveScreenshot(filepath.Join(dir, sh[0]+"-"+strconv.Itoa(width)+".png"))
		}
	}
}
