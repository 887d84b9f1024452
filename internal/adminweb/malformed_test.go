package adminweb_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
)

// Forged cursors and text Postgres cannot take (a NUL byte, invalid UTF-8)
// are the caller's mistake: 400 on the pages, 422 invalid_input in the
// admin API, never a 500, and never an ERROR log line carrying the input (the review's were
// 100 KB).
func TestMalformedInputIsA400(t *testing.T) {
	s := admintest.New(t)
	b := s.Browser(t).SignIn(s.Admin.Email)
	key := s.APIKey(t, s.Tenant.ID, "admin-script", true)
	junk := strings.Repeat("A", 100_000)
	cursor := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	badTime := cursor(map[string]string{"v": "2026-13-45T99:99:99Z" + junk, "id": s.SalesConn.ID})
	badID := cursor(map[string]string{"v": "2026-03-04T09:00:00Z", "id": "not-a-uuid"})
	badName := cursor(map[string]string{"v": "a\x00b", "id": s.SalesConn.ID})
	badFeed := cursor(map[string]any{"at": "2026-03-04T09:00:00Z", "s": 1, "k": "x/y"})
	cases := []struct{ path string }{
		{"/connections?cursor=" + badTime},
		{"/connections?cursor=" + badID},
		{"/connections?sort=name&cursor=" + badName},
		{"/connections?cursor=" + strings.Repeat("A", 5000)},
		{"/connections?q=" + url.QueryEscape("inbox\x00"+junk)},
		{"/connections?q=" + url.QueryEscape("\xff\xfe")},
		{"/audit?actor=" + url.QueryEscape("ann\x00")},
		{"/audit?cursor=" + badFeed},
		{"/audit?format=csv&actor=" + url.QueryEscape("\x00")},
	}
	for _, c := range cases {
		res := b.Get(c.path)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("page %.80s: %d, want 400", c.path, res.StatusCode)
		}
		api := "/api/v1/admin" + c.path
		if strings.HasPrefix(c.path, "/audit?format=csv") {
			continue
		}
		// The admin API answers every invalid input with its 422 invalid_input.
		if res := s.API(t, http.MethodGet, api, key, ""); res.StatusCode != http.StatusUnprocessableEntity ||
			problemCode(t, res) != "invalid_input" {
			t.Errorf("API %.80s: %d %.200s, want 422 invalid_input", api, res.StatusCode, res.Body)
		}
	}
	// The first pages still work, and what the list hands out still pages.
	admintest.WantStatus(t, b.Get("/connections?q=inbox"), http.StatusOK)
	admintest.WantStatus(t, b.Get("/connections?limit=1"), http.StatusOK)
	logs := s.Logs.String()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("an ERROR log line: %.300s", line)
		}
		if len(line) > 4096 {
			t.Errorf("a %d-byte log line: %.300s", len(line), line)
		}
	}
}
