package api

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// TokenFirst answers every request exactly as chi's routing of the same
// path does: the token route's own answers (warm, bad id, bad query, other
// tenant's key) and the paths it must leave to chi (other methods, trailing
// slash, deeper paths, escaped paths, other routes).
func TestTokenFirstAnswersAsChiDoes(t *testing.T) {
	e := newEnv(t)
	fast := e.serverRouted(t, apikeys.Options{}, true)
	slow := e.serverRouted(t, apikeys.Options{}, false)
	key, _ := e.key(t, e.tenant.ID)
	otherKey, _ := e.key(t, e.other.ID)
	c := e.conn(t, tokenstest.Conn{})
	base := "/api/v1/connections/" + c.ID
	for _, tc := range []struct{ method, path, key string }{
		{http.MethodGet, base + "/token", key},
		{http.MethodGet, base + "/token?min_ttl=60", key},
		{http.MethodGet, base + "/token?min_ttl=-1", key},
		{http.MethodGet, "/api/v1/connections/" + upper(c.ID) + "/token", key},
		{http.MethodGet, "/api/v1/connections/not-a-uuid/token", key},
		{http.MethodGet, base + "/token", otherKey},
		{http.MethodGet, base + "/token", ""},
		{http.MethodGet, base + "/token", "brk_wrong"},
		{http.MethodHead, base + "/token", key},
		{http.MethodPost, base + "/token", key},
		{http.MethodGet, base + "/token/", key},
		{http.MethodGet, base + "/extra/token", key},
		{http.MethodGet, "/api/v1/connections/" + c.ID[:8] + "%2D" + c.ID[9:] + "/token", key},
		{http.MethodGet, base, key},
		{http.MethodGet, "/api/v1/connections/token", key},
	} {
		a, aBody := do(t, fast, tc.method, tc.path, tc.key)
		b, bBody := do(t, slow, tc.method, tc.path, tc.key)
		if a.StatusCode != b.StatusCode || !bytes.Equal(aBody, bBody) || a.Header.Get("Content-Type") != b.Header.Get("Content-Type") ||
			a.Header.Get("Cache-Control") != b.Header.Get("Cache-Control") || a.Header.Get("Retry-After") != b.Header.Get("Retry-After") {
			t.Errorf("%s %s: TokenFirst %d %s %v, chi %d %s %v", tc.method, tc.path, a.StatusCode, aBody, a.Header, b.StatusCode, bBody, b.Header)
		}
	}
}

func do(t *testing.T, s *server, method, path, key string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return resp, body.Bytes()
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }

func TestTokenPathID(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/connections/abc/token":   "abc",
		"/api/v1/connections//token":      "",
		"/api/v1/connections/a/b/token":   "",
		"/api/v1/connections/abc/token/":  "",
		"/api/v1/connections/abc/tokens":  "",
		"/api/v1/connection/abc/token":    "",
		"/api/v1/connections/token":       "",
		"/api/v1/admin/connections/token": "",
	} {
		got, ok := tokenPathID(path)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", path, got, ok, want)
		}
	}
}
