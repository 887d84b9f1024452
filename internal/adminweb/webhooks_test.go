package adminweb_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/connections/conntest"
)

var secretPattern = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]{44}`)

func TestWebhookPages(t *testing.T) {
	s := admintest.New(t)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer rcv.Close()
	b := s.Browser(t).SignIn(s.Admin.Email)
	admintest.WantBody(t, b.Get("/webhooks"), "No endpoints yet", `value="connection.status_changed"`)
	admintest.WantNotInBody(t, b.Get("/webhooks"), `value="broker.health_changed"`)

	// Refused URLs re-render with 422, the field's message and the values kept.
	for u, msg := range map[string]string{
		"https://169.254.169.254/latest/meta-data": "169.254.169.254 is a link-local address",
		"https://10.1.2.3/hook":                    "10.1.2.3 is a private address",
		"http://example.com/hook":                  "must use https",
	} {
		res := b.Post("/webhooks", url.Values{"url": {u}, "description": {"kept"}, "event_types": {"connection.deleted"}})
		admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
		admintest.WantBody(t, res, `id="url-error"`, msg, `value="kept"`, `value="connection.deleted" checked`)
	}
	res := b.Post("/webhooks", url.Values{"url": {rcv.URL + "/hook"}, "event_types": {"connection.status_changed"}})
	admintest.WantStatus(t, res, http.StatusCreated)
	secret := secretPattern.FindString(html.UnescapeString(res.Body)) // html/template writes + as &#43;
	if secret == "" {
		t.Fatalf("no secret on the page:\n%s", res.Body)
	}
	admintest.WantBody(t, res, "shown only this once")
	conntest.AssertNoPlaintext(t, s.DBURL, secret, strings.TrimPrefix(secret, "whsec_"))
	list := b.Get("/webhooks")
	admintest.WantBody(t, list, rcv.URL+"/hook", "connection.status_changed", "Enabled")
	admintest.WantNotInBody(t, list, secret)

	// A member may not manage webhooks.
	m := s.Browser(t).SignIn(s.Member.Email)
	admintest.WantStatus(t, m.Get("/webhooks"), http.StatusForbidden)
}
