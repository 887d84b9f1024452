package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// scopeRecorder keeps the scope of every token request on its way to the
// simulation, as it went over the wire.
type scopeRecorder struct {
	next   http.Handler
	mu     sync.Mutex
	scopes []string
}

func (r *scopeRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodPost && req.ParseForm() == nil && req.PostForm.Get("grant_type") == "client_credentials" {
		r.mu.Lock()
		r.scopes = append(r.scopes, req.PostForm.Get("scope"))
		r.mu.Unlock()
	}
	r.next.ServeHTTP(w, req)
}

func (r *scopeRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.scopes) == 0 {
		return ""
	}
	return r.scopes[len(r.scopes)-1]
}

// TestNationalCloudScopes runs, per cloud, against the simulation playing
// that cloud (which refuses another cloud's Graph resource, as Microsoft
// does): the exact scope the broker sends for client credentials and admin
// consent, and the granted scopes it records from the cloud's answers.
func TestNationalCloudScopes(t *testing.T) {
	cases := []struct{ cloud, scope string }{
		{"global", "https://graph.microsoft.com/.default"},
		{"usgov", "https://graph.microsoft.us/.default"},
		{"usgov-dod", "https://dod-graph.microsoft.us/.default"},
		{"china", "https://microsoftgraph.chinacloudapi.cn/.default"},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.cloud, func(t *testing.T) {
			sim := mssim.New(mssim.Options{Cloud: c.cloud})
			demo := mssim.SeedDemo(sim, mssim.DemoConfig{})
			rec := &scopeRecorder{next: sim.Handler()}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			cfg := config.Config{MicrosoftCloud: c.cloud}
			m := &oauth.Microsoft{LoginBase: srv.URL, GraphBase: srv.URL, GraphResource: cfg.GraphResource(),
				ClientID: demo.WebApp.ClientID, ClientSecret: demo.WebApp.Secret, RedirectURL: mssim.DemoRedirectURI,
				HTTPClient: oauth.NewHTTPClient()}

			// Client credentials: the exact scope on the wire, accepted, granted in the cloud's form.
			tok, err := m.ClientCredentials(ctx, demo.Contoso.ID, demo.DaemonApp.ClientID, oauth.ClientSecret(demo.DaemonApp.Secret))
			if err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			if got := rec.last(); got != c.scope {
				t.Fatalf("client credentials sent scope %q, want %q", got, c.scope)
			}
			granted := oauth.GrantedScopes([]string{m.DefaultScope()}, tok.Scopes, false)
			if !slices.Equal(granted, []string{c.scope}) {
				t.Fatalf("client credentials granted %v (answer %v), want [%s]", granted, tok.Scopes, c.scope)
			}
			t.Logf("%s: client credentials scope sent %s; answer %v; recorded %v", c.cloud, c.scope, tok.Scopes, granted)

			// The global host on a national cloud is refused, as Microsoft does.
			global := oauth.Microsoft{LoginBase: m.LoginBase, GraphBase: m.GraphBase, ClientID: m.ClientID,
				ClientSecret: m.ClientSecret, RedirectURL: m.RedirectURL, HTTPClient: m.HTTPClient}
			_, err = global.ClientCredentials(ctx, demo.Contoso.ID, demo.DaemonApp.ClientID, oauth.ClientSecret(demo.DaemonApp.Secret))
			var oe *oauth.Error
			if c.cloud == "global" {
				if err != nil {
					t.Fatalf("global host on the global cloud: %v", err)
				}
			} else if !errors.As(err, &oe) || oe.AADSTS() != "AADSTS500011" {
				t.Fatalf("global host on %s: %v, want AADSTS500011", c.cloud, err)
			}

			// Admin consent: the exact scope in the link.
			link, err := url.Parse(m.AdminConsentURL(demo.Contoso.ID, "st"))
			if err != nil {
				t.Fatal(err)
			}
			if got := link.Query().Get("scope"); got != c.scope {
				t.Fatalf("admin consent scope %q, want %q", got, c.scope)
			}
			t.Logf("%s: admin consent scope sent %s", c.cloud, link.Query().Get("scope"))
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, mm := range []*oauth.Microsoft{m, &global} {
				resp, err := noFollow.Get(mm.AdminConsentURL(demo.Contoso.ID, "st"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				refused := resp.StatusCode >= 400 || loc.Query().Get("error") != ""
				if wantRefused := mm == &global && c.cloud != "global"; refused != wantRefused {
					t.Fatalf("admin consent with %s: HTTP %d %s, refused %v, want %v", mm.DefaultScope(), resp.StatusCode, loc, refused, wantRefused)
				}
			}

			// A delegated sign-in: the answer names the cloud's Graph host; recorded as granted.
			requested := []string{"Mail.ReadWrite", "User.Read", "offline_access"}
			verifier := "dBjftJeZ4CVP-mJ92K9xtF6a1mh3gHhcuLmTpa6m0YwEXAMPLE"
			sum := sha256.Sum256([]byte(verifier))
			authURL := m.AuthorizeURL(oauth.AuthorizeRequest{Authority: "organizations", State: "s", Nonce: "n",
				CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), Scopes: append([]string{"openid", "profile"}, requested...)})
			back, err := mssim.SignIn(ctx, m.HTTPClient, authURL, demo.Adele.UPN, mssim.SignInOptions{})
			if err != nil {
				t.Fatal(err)
			}
			code := back.Query().Get("code")
			if code == "" {
				t.Fatalf("sign-in: %s", back.RawQuery)
			}
			dt, err := m.Exchange(ctx, "organizations", code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			got := oauth.GrantedScopes(requested, dt.Scopes, dt.RefreshToken != "")
			if !slices.Equal(got, requested) {
				t.Fatalf("delegated: recorded %v from %v, want %v", got, dt.Scopes, requested)
			}
			t.Logf("%s: delegated answer %v recorded as %v", c.cloud, dt.Scopes, got)
		})
	}
}
