package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/oauth"
)

// tokenRecorder is a national cloud's token endpoint as far as the wire goes:
// it keeps the scope each client-credentials request sent and answers as the
// platform documents, naming the granted .default in the cloud's form.
type tokenRecorder struct {
	mu     sync.Mutex
	scopes []string
	answer string // the scope the answer grants
}

func (r *tokenRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil || req.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.scopes = append(r.scopes, req.PostForm.Get("scope"))
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": "eyJ0eXAiOiJKV1Qi.app.token", "scope": r.answer})
}

// TestNationalCloudScopes shows, per cloud, the exact scope the broker sends
// for client credentials and admin consent, and how the granted scopes that
// come back in the cloud's form are recorded.
func TestNationalCloudScopes(t *testing.T) {
	cases := []struct {
		cloud, scope string
	}{
		{"global", "https://graph.microsoft.com/.default"},
		{"usgov", "https://graph.microsoft.us/.default"},
		{"usgov-dod", "https://dod-graph.microsoft.us/.default"},
		{"china", "https://microsoftgraph.chinacloudapi.cn/.default"},
	}
	for _, c := range cases {
		t.Run(c.cloud, func(t *testing.T) {
			cfg := config.Config{MicrosoftCloud: c.cloud}
			host := cfg.GraphResource()
			rec := &tokenRecorder{answer: c.scope}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			m := &oauth.Microsoft{LoginBase: srv.URL, GraphBase: srv.URL, GraphResource: host, ClientID: "broker-app",
				RedirectURL: "https://broker.example/oauth/callback", HTTPClient: srv.Client()}

			if got := m.DefaultScope(); got != c.scope {
				t.Fatalf("DefaultScope = %q, want %q", got, c.scope)
			}
			tok, err := m.ClientCredentials(context.Background(), "contoso.onmicrosoft.com", "customer-app", "s3cret")
			if err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			if len(rec.scopes) != 1 || rec.scopes[0] != c.scope {
				t.Fatalf("client credentials sent scope %q, want exactly %q", rec.scopes, c.scope)
			}
			t.Logf("%s client credentials scope sent: %s", c.cloud, rec.scopes[0])
			if got := oauth.GrantedScopes([]string{m.DefaultScope()}, tok.Scopes, false); !slices.Equal(got, []string{c.scope}) {
				t.Fatalf("client credentials granted %v, want [%s]", got, c.scope)
			}

			consent, err := url.Parse(m.AdminConsentURL("contoso.onmicrosoft.com", "st"))
			if err != nil {
				t.Fatal(err)
			}
			if got := consent.Query().Get("scope"); got != c.scope {
				t.Fatalf("admin consent scope %q, want %q", got, c.scope)
			}
			t.Logf("%s admin consent scope sent: %s", c.cloud, consent.Query().Get("scope"))

			// A delegated grant answered in the cloud's form parses as granted.
			requested := []string{"Mail.ReadWrite", "User.Read", "offline_access"}
			answer := []string{host + "/Mail.ReadWrite", host + "/User.Read", "openid", "profile", "offline_access"}
			got := oauth.GrantedScopes(requested, answer, true)
			if !slices.Equal(got, requested) {
				t.Fatalf("granted %v from %v, want %v", got, answer, requested)
			}
			t.Logf("%s delegated answer %v parsed as %v", c.cloud, answer, got)
		})
	}
}
