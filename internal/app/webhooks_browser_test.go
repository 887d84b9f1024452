package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/app"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
	"github.com/brokerhq/broker/internal/webhooks"
)

// hookReceiver records webhooks and verifies them with its own
// implementation of the Standard Webhooks signature (id.timestamp.body,
// HMAC-SHA256 with the base64 key after whsec_, any v1 signature).
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	got    []map[string]any
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/gone" {
		w.WriteHeader(http.StatusGone)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h.secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, s := range strings.Fields(r.Header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(s), []byte("v1,"+want))
	}
	if !ok {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	json.Unmarshal(body, &ev)
	h.got = append(h.got, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) find(typ, aadsts string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.got {
		if ev["type"] != typ {
			continue
		}
		data, _ := json.Marshal(ev["data"])
		if aadsts == "" || strings.Contains(string(data), `"aadsts":"`+aadsts+`"`) {
			return true
		}
	}
	return false
}

// TestBrowserWebhookEndpoint: an admin adds an endpoint on the page, keeps
// the secret shown once, sends a test event and sees it delivered; then a
// user's grant is revoked at (simulated) Microsoft, the next refresh fails,
// and the receiver gets connection.status_changed with AADSTS50173.
func TestBrowserWebhookEndpoint(t *testing.T) {
	ctx := context.Background()
	sim := mssim.New(mssim.Options{})
	ms := httptest.NewServer(sim.Handler())
	defer ms.Close()
	rc := &hookReceiver{}
	receiver := httptest.NewServer(rc)
	defer receiver.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cfg := testConfig(t, testdb.New(t))
	cfg.Demo, cfg.MicrosoftLoginURL, cfg.MicrosoftGraphURL, cfg.PublicURL = true, ms.URL, ms.URL, base
	cfg.MicrosoftClientID, cfg.MicrosoftClientSecret = mssim.DemoWebClientID, mssim.DemoWebClientSecret
	// What an operator sets for a receiver on the same machine.
	cfg.Webhooks.AllowHTTPHosts = []string{"127.0.0.1"}
	cfg.Webhooks.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	demo := mssim.SeedDemo(sim, mssim.DemoConfig{RedirectURIs: []string{cfg.RedirectURL(), mssim.DemoRedirectURI}})
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
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go a.WebhookWorker.Run(wctx)

	b := browsertest.New(t, browsertest.Options{Timeout: 3 * time.Minute})
	b.SignIn(base, app.DemoAdminEmail, app.DemoAdminPassword)
	b.Do("add an endpoint",
		chromedp.Navigate(base+"/webhooks"),
		chromedp.WaitVisible(chromedp.CSS("#url")),
		chromedp.SendKeys(chromedp.CSS("#url"), receiver.URL+"/hook"),
		chromedp.SendKeys(chromedp.CSS("#description"), "reconnect emails"),
		chromedp.Click(chromedp.CSS("#add-endpoint")),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	)
	secret := browsertest.Eval[string](b, `document.querySelector("#secret").value`)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown: %q", secret)
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
	shots := os.Getenv("BROKER_SCREENSHOTS")
	if shots != "" {
		b.SaveScreenshot(filepath.Join(shots, "webhook-secret-1280.png"))
	}
	b.Do("open the endpoint and send a test event",
		chromedp.Click(chromedp.CSS("#stored")),
		chromedp.WaitVisible(chromedp.CSS("#send-test")),
		chromedp.Click(chromedp.CSS("#send-test")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	waitFor(t, "the test event at the receiver", func() bool { return rc.find("webhook.test", "") })
	// The page shows the delivery as delivered with the receiver's 204.
	waitFor(t, "the delivery on the page", func() bool {
		b.Do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#deliveries")))
		return strings.Contains(b.Text("#deliveries"), "delivered · HTTP 204")
	})
	if shots != "" {
		b.SaveScreenshot(filepath.Join(shots, "webhook-endpoint-1280.png"))
	}

	// A signed-in connection whose user's grant Microsoft then revokes.
	m := &tokenstest.Microsoft{Sim: sim, Demo: demo, Server: ms}
	projects, _ := a.Store.ListProjects(ctx, seed.TenantID)
	conn, err := m.Create(ctx, a.Store, tokenstest.Conn{TenantID: seed.TenantID, ProjectID: projects[0].ID,
		Name: "Adele's mailbox", UPN: demo.Adele.UPN, Expired: true})
	if err != nil {
		t.Fatal(err)
	}
	sim.RevokeUser(demo.Adele.UPN)
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/connections/"+conn.ID+"/token?force_refresh=true", nil)
	req.Header.Set("Authorization", "Bearer "+seed.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("token after revocation: HTTP %d", resp.StatusCode)
	}
	waitFor(t, "connection.status_changed with AADSTS50173", func() bool {
		return rc.find("connection.status_changed", "AADSTS50173")
	})
	t.Logf("connection.status_changed (AADSTS50173) received %s after the refresh failed", time.Since(start).Round(time.Millisecond))
	// The connection's page lists its events, folded like its history.
	b.Do("open the connection's events", chromedp.Navigate(base+"/connections/"+conn.ID), chromedp.WaitVisible(chromedp.CSS("#events")),
		chromedp.Click(chromedp.CSS("#events > summary")), chromedp.WaitVisible(chromedp.CSS("#events ol")))
	if txt := b.Text("#events"); !strings.Contains(txt, "connection.status_changed") || !strings.Contains(txt, "AADSTS50173") {
		t.Fatalf("connection page events: %q", txt)
	}
	if shots != "" {
		b.SaveScreenshot(filepath.Join(shots, "connection-events-1280.png"))
	}

	// An endpoint the guard refuses at the dial (saved before the operator
	// narrowed the networks: written straight to the store) shows why, and
	// one answering 410 Gone is disabled with a banner saying so.
	refused, err := a.Store.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{TenantID: seed.TenantID,
		URL: "https://10.255.255.1/hook", Secret: webhooks.NewSecret()})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, err := a.Webhooks.Create(ctx, seed.TenantID, "test", webhooks.Input{URL: receiver.URL + "/gone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{refused.ID, gone.ID} {
		if err := a.Webhooks.SendTest(ctx, seed.TenantID, id, "test"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the refusal on the page", func() bool {
		b.Do("open the refused endpoint", chromedp.Navigate(base+"/webhooks/"+refused.ID), chromedp.WaitVisible(chromedp.CSS("h1")))
		return strings.Contains(b.Text("main"), "refused: 10.255.255.1 is a private address")
	})
	waitFor(t, "the 410 banner", func() bool {
		b.Do("open the gone endpoint", chromedp.Navigate(base+"/webhooks/"+gone.ID), chromedp.WaitVisible(chromedp.CSS("h1")))
		return strings.Contains(b.Text("main"), "The receiver answered 410 Gone; disabled automatically.")
	})
	if shots != "" {
		b.SaveScreenshot(filepath.Join(shots, "webhook-gone-1280.png"))
		for _, width := range []int{1366, 390} {
			pb := browsertest.New(t, browsertest.Options{Width: width, Height: 900, Timeout: 2 * time.Minute})
			pb.SignIn(base, app.DemoAdminEmail, app.DemoAdminPassword)
			for _, sh := range [][2]string{{"webhooks", "/webhooks"}, {"webhook-endpoint", "/webhooks/" + refused.ID},
				{"webhook-gone", "/webhooks/" + gone.ID}, {"connection-events", "/connections/" + conn.ID}} {
				pb.Do("open "+sh[1], chromedp.Navigate(base+sh[1]), chromedp.WaitReady(chromedp.CSS("body")))
				pb.SaveScreenshot(filepath.Join(shots, sh[0]+"-"+strconv.Itoa(width)+".png"))
			}
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.bad != 0 {
		t.Fatalf("%d webhooks failed the receiver's verification", rc.bad)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
