package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/testdb"
)

// A failure of the broker's own app registration is shown where people can
// act on it: a banner for tenant admins (not members), a line on /readyz
// (which stays 200), and the broker_microsoft_app_* metrics.
func TestBrokerAppConditionIsShown(t *testing.T) {
	sim := mssim.New(mssim.Options{})
	ms := httptest.NewServer(sim.Handler())
	defer ms.Close()
	cfg := testConfig(t, testdb.New(t))
	cfg.Demo, cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL = true, ms.URL, ms.URL
	cfg.MicrosoftClientID, cfg.MicrosoftClientSecret = mssim.DemoWebClientID, "the-old-secret"
	cfg.MetricsToken = strings.Repeat("m3tr1cs", 6) // /metrics is served only behind a token or on its own address
	mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL()}})
	a, err := app.New(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := app.SeedDemo(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	get := func(c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	signedIn := func(email string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.PostForm(srv.URL+"/login", url.Values{"email": {email}, "password": {app.DemoAdminPassword}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c
	}
	admin, member := signedIn(app.DemoAdminEmail), signedIn(app.DemoMemberEmail)
	if _, body := get(admin, "/connections"); strings.Contains(body, "notice-banner") {
		t.Fatal("a banner while the app works")
	}
	if _, body := get(http.DefaultClient, "/readyz"); body != "ok\nmicrosoft_app: ok\n" {
		t.Fatalf("/readyz while healthy: %q", body)
	}

	// Microsoft refuses the broker's secret at the next refresh.
	if _, err := a.Guarded.Refresh(context.Background(), "common", "any-refresh-token"); err == nil {
		t.Fatal("a refresh with a wrong secret succeeded")
	}
	status, body := get(admin, "/connections")
	if status != 200 || !strings.Contains(body, `class="notice-banner notice-error" role="alert"`) ||
		!strings.Contains(body, "Token refreshes are paused") || !strings.Contains(body, "AADSTS7000215") ||
		!strings.Contains(body, "BROKER_MICROSOFT_CLIENT_SECRET") {
		t.Fatalf("admin page: %d %s", status, body)
	}
	if _, body := get(member, "/connections"); strings.Contains(body, "notice-banner") {
		t.Fatal("a member sees the operator's banner")
	}
	status, body = get(http.DefaultClient, "/readyz")
	if status != 200 || !strings.Contains(body, "microsoft_app: failing AADSTS7000215 (secret_invalid)") {
		t.Fatalf("/readyz: %d %q", status, body)
	}
	metrics := &http.Client{Transport: bearer{cfg.MetricsToken}}
	_, body = get(metrics, "/metrics")
	for _, want := range []string{"broker_microsoft_app_up 0",
		`broker_microsoft_app_condition{code="AADSTS7000215",kind="secret_invalid"} 1`, "broker_microsoft_app_requests_total 1"} {
		if !strings.Contains(body, want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
}

// bearer adds the metrics token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}
