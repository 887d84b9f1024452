package adminweb_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/connections/conntest"
)

// The window runs from the last time the password was typed, at sign-in or
// at a confirmation, not from the sign-in: a password typed 10 minutes ago
// is recent even when the sign-in is 26 minutes old, and one typed 16
// minutes ago is not, however the session was kept alive in between. The
// pages say so in those words.
func TestPasswordWindowRunsFromTheLastPasswordEntry(t *testing.T) {
	s := admintest.New(t)
	b := s.Browser(t).SignIn(s.Admin.Email)
	confirm := func(id string) admintest.Response { return b.Get("/connections/" + id + "/confirm/disable") }

	admintest.WantNotInBody(t, confirm(s.SalesConn.ID), `name="password"`) // just signed in
	s.Clock.Advance(10 * time.Minute)
	b.Get("/connections") // the session stays alive
	s.Clock.Advance(6 * time.Minute)
	res := confirm(s.SalesConn.ID)
	admintest.WantBody(t, res, `name="password"`, "You last entered your password more than 15 minutes ago")
	admintest.WantRedirect(t, b.Post("/connections/"+s.SalesConn.ID+"/disable",
		url.Values{"reason": {"Leaving"}, "password": {conntest.Password}}), "/connections/"+s.SalesConn.ID)

	s.Clock.Advance(10 * time.Minute) // sign-in 26 minutes ago, password 10
	admintest.WantNotInBody(t, confirm(s.SupportConn.ID), `name="password"`)
	admintest.WantRedirect(t, b.Post("/connections/"+s.SupportConn.ID+"/disable", url.Values{"reason": {"Leaving"}}),
		"/connections/"+s.SupportConn.ID)

	s.Clock.Advance(6 * time.Minute) // password 16 minutes ago
	admintest.WantBody(t, confirm(s.AppConn.ID), `name="password"`)
	res = b.Post("/connections/"+s.AppConn.ID+"/disable", url.Values{"reason": {"Leaving"}})
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	admintest.WantBody(t, res, "you last entered it more than 15 minutes ago")
	admintest.WantBody(t, b.Get("/api-keys"), "You last entered your password more than 15 minutes ago")
}
