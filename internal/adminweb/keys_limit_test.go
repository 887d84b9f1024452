package adminweb_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
)

func TestCreateKeyWithItsOwnRateLimit(t *testing.T) {
	s := admintest.New(t)
	b := s.Browser(t).SignIn(s.Admin.Email)
	admintest.WantBody(t, b.Get("/api-keys"), `name="rate"`)
	for _, bad := range []string{"fast", "-3", "0", "2000001"} {
		res := b.Post("/api-keys", url.Values{"name": {"slow-bot"}, "rate": {bad}})
		admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
		admintest.WantBody(t, res, `id="rate-error"`, `value="`+bad+`"`, `value="slow-bot"`)
		if keyPattern.FindString(res.Body) != "" {
			t.Fatalf("rate %q: a key was made", bad)
		}
	}
	res := b.Post("/api-keys", url.Values{"name": {"slow-bot"}, "rate": {"1"}})
	admintest.WantStatus(t, res, http.StatusCreated)
	key := keyPattern.FindString(res.Body)
	admintest.WantBody(t, b.Get("/api-keys"), "Rate limit: 1/s")
	// One a second, at once (the test's clock stands still): the second is refused.
	admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)
	res = s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, "")
	admintest.WantStatus(t, res, http.StatusTooManyRequests)
	admintest.WantBody(t, res, "rate_limited")
}
