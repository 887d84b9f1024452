package adminweb_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/browsertest"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

// TestScreenshots writes every admin page at a laptop's and a phone's width
// to $BROKER_SCREENSHOTS, for a person to look at. It runs only when asked.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("BROKER_SCREENSHOTS")
	if dir == "" {
		t.Skip("set BROKER_SCREENSHOTS to a directory to write screenshots")
	}
	s := admintest.NewAt(t, "localhost")
	s.SetStatus(t, s.SupportConn, store.StatusEvent{Status: "needs_reauth", ErrorCode: "AADSTS70008",
		Reason:  "the refresh token has expired or was revoked. Microsoft said: AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
		TraceID: "0000aaaa-11bb-cc22-dd33-444444eeeeee", CorrelationID: "aaaa0000-bb11-22cc-33dd-eeeeee444444"})
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", false)
	for range 3 {
		s.API(t, http.MethodGet, "/api/v1/connections/"+s.SalesConn.ID+"/token", key, "")
	}
	s.Usage.Flush(context.Background())
	s.AdminSvc.Do(context.Background(), admin.Viewer{Kind: admin.KindUser, ID: s.Admin.ID, Label: s.Admin.Email,
		TenantID: s.Tenant.ID, Admin: true, AllProjects: true}, s.AppConn.ID, admin.ActDisable, admin.Input{Reason: "App being replaced"})

	emptyTenant(t, s)
	pages := []struct {
		email string
		shots [][2]string
	}{
		{s.Admin.Email, [][2]string{{"list-admin", "/connections"}, {"list-broken", "/connections?status=broken"},
			{"list-nomatch", "/connections?q=nothing-like-this"},
			{"confirm-disable", "/connections/" + s.SalesConn.ID + "/confirm/disable"},
			{"confirm-rotate", "/connections/" + s.AppConn.ID + "/confirm/rotate-secret"},
			{"confirm-test", "/connections/" + s.SupportConn.ID + "/confirm/test"},
			{"audit", "/audit"}, {"api-keys", "/api-keys"}, {"revoke", "/api-keys/" + firstKey(t, s) + "/revoke"},
			{"connection", "/connections/" + s.SupportConn.ID}}},
		{s.Member.Email, [][2]string{{"list-member", "/connections"}}},
		{s.Operator.Email, [][2]string{{"list-operator", "/connections"}, {"audit-operator", "/audit"}}},
		{"new@empty.test", [][2]string{{"list-empty", "/connections"}, {"audit-empty", "/audit?type=connection.deleted"},
			{"api-keys-empty", "/api-keys"}}},
	}
	harness := sectionsHarness(t, s, s.SupportConn.ID)
	for _, width := range []int{1280, 390} {
		for _, p := range pages {
			b := browsertest.New(t, browsertest.Options{Width: width, Height: 900})
			b.SignIn(s.URL, p.email, conntest.Password)
			for _, sh := range p.shots {
				b.Do("open "+sh[1], chromedp.Navigate(s.URL+sh[1]), chromedp.WaitReady(chromedp.CSS("body")))
				b.SaveScreenshot(filepath.Join(dir, sh[0]+"-"+strconv.Itoa(width)+".png"))
			}
			if p.email == s.Admin.Email {
				b.Do("create a key", chromedp.Navigate(s.URL+"/api-keys"), chromedp.SendKeys(chromedp.CSS("#name"), "crm-sync"),
					chromedp.Click(chromedp.CSS("#create-key")), chromedp.WaitVisible(chromedp.CSS("#key")))
				b.SaveScreenshot(filepath.Join(dir, "key-created-"+strconv.Itoa(width)+".png"))
				b.Do("rotate with a wrong secret", chromedp.Navigate(s.URL+"/connections/"+s.AppConn.ID+"/confirm/rotate-secret"),
					chromedp.SendKeys(chromedp.CSS("#client_secret"), "wrong~secret"), chromedp.Click(chromedp.CSS("#confirm")),
					chromedp.WaitVisible(chromedp.CSS("#client_secret-error")))
				b.SaveScreenshot(filepath.Join(dir, "rotate-error-"+strconv.Itoa(width)+".png"))
			}
		}
		// The admin sections, in the connection page as the lead will include them.
		b := browsertest.New(t, browsertest.Options{Width: width, Height: 900})
		b.Do("open the composed connection page", chromedp.Navigate(harness), chromedp.WaitReady(chromedp.CSS("#admin")))
		b.SaveScreenshot(filepath.Join(dir, "sections-"+strconv.Itoa(width)+".png"))
	}
}

func firstKey(t *testing.T, s *admintest.Server) string {
	keys, err := s.Store.ListAPIKeys(context.Background(), s.Tenant.ID)
	if err != nil || len(keys) == 0 {
		t.Fatal(err)
	}
	return keys[0].ID
}

func emptyTenant(t *testing.T, s *admintest.Server) {
	ctx := context.Background()
	if _, err := s.Store.TenantBySlug(ctx, "empty"); err == nil {
		return
	}
	tn, err := s.Store.CreateTenant(ctx, "empty", "Empty Ltd")
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.CheapParams.Hash(conntest.Password)
	if _, err := s.Store.CreateUser(ctx, tn.ID, "new@empty.test", hash, store.RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
}

// sectionsHarness serves the real connection page with the admin sections
// rendered from the template files into it, as connection_show.html will
// include them, and returns its address.
func sectionsHarness(t *testing.T, s *admintest.Server, id string) string {
	t.Helper()
	b := s.Browser(t).SignIn(s.Admin.Email)
	page := b.Get("/connections/" + id)
	admintest.WantStatus(t, page, http.StatusOK)
	v := admin.Viewer{Kind: admin.KindUser, ID: s.Admin.ID, Label: s.Admin.Email, TenantID: s.Tenant.ID, Admin: true, AllProjects: true}
	d, err := s.AdminSvc.Detail(context.Background(), v, id)
	if err != nil {
		t.Fatal(err)
	}
	html := renderSections(t, adminweb.SectionsOf(d, s.Clock.Now()), s.URL)
	composed := strings.Replace(page.Body, "</main>", html+"</main>", 1)
	composed = strings.Replace(composed, "<head>", `<head><base href="`+s.URL+`/">`, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(composed))
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}
