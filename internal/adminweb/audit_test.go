package adminweb_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/admin/admintest"
	"github.com/brokerhq/broker/internal/store"
)

func TestAuditPageFiltersPagesAndExports(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	key := s.APIKey(t, s.Tenant.ID, "billing-sync", false)
	for range 3 {
		admintest.WantStatus(t, s.API(t, http.MethodGet, tokenPath(s.SalesConn.ID), key, ""), http.StatusOK)
	}
	if err := s.Usage.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b := s.Browser(t).SignIn(s.Admin.Email)
	admintest.WantStatus(t, b.Post("/connections/"+s.SalesConn.ID+"/disable", url.Values{"reason": {"=HYPERLINK(\"http://evil\")"}}), http.StatusSeeOther)
	_, cr, _ := s.Conn(s.AppConn)

	res := b.Get("/audit")
	admintest.WantBody(t, res, "Tokens fetched", "billing-sync", "3 tokens", "Disabled", "Status → Disabled", "Connection created")
	res = b.Get("/audit?type=token.fetched")
	admintest.WantBody(t, res, "billing-sync")
	admintest.WantNotInBody(t, res, `<code class="adm-sub">connection.created</code>`)
	res = b.Get("/audit?actor=BILLING")
	admintest.WantBody(t, res, "Tokens fetched")
	admintest.WantNotInBody(t, res, `<code class="adm-sub">connection.created</code>`)
	res = b.Get("/audit?connection=" + s.SupportConn.ID)
	admintest.WantBody(t, res, "Support inbox")
	admintest.WantNotInBody(t, res, ">Sales inbox<", ">Daemon<")
	res = b.Get("/audit?from=2001-01-01&to=2001-01-02")
	admintest.WantBody(t, res, "No event matches these filters")
	res = b.Get("/audit?from=yesterday&connection=nope")
	admintest.WantStatus(t, res, http.StatusUnprocessableEntity)
	admintest.WantBody(t, res, "Enter a date as YYYY-MM-DD.", "Enter a connection ID")
	admintest.WantStatus(t, b.Get("/audit?cursor=garbage"), http.StatusBadRequest)

	// CSV: every row, formulas defused, no secret.
	res = b.Get("/audit?format=csv")
	admintest.WantStatus(t, res, http.StatusOK)
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "at" || len(rows) < 10 {
		t.Fatalf("CSV has %d rows: %v", len(rows), rows[0])
	}
	var sawFetch, sawFormula bool
	for _, r := range rows[1:] {
		sawFetch = sawFetch || r[5] == "token.fetched" && r[4] == "billing-sync" && strings.Contains(r[9], `"cached":3`)
		if strings.HasPrefix(strings.TrimPrefix(r[8], "'"), "=HYPERLINK") {
			sawFormula = true
			if !strings.HasPrefix(r[8], "'=") {
				t.Fatalf("formula not defused: %q", r[8])
			}
		}
	}
	if !sawFetch || !sawFormula {
		t.Fatalf("CSV lacks the fetch summary (%v) or the reason (%v)", sawFetch, sawFormula)
	}
	for _, secret := range []string{cr.ClientSecret, cr.AccessToken, cr.RefreshToken, key, s.Demo.DaemonApp.Secret} {
		if secret != "" && strings.Contains(res.Body, secret) {
			t.Fatal("a secret is in the CSV")
		}
	}
	// Filters apply to the export too.
	res = b.Get("/audit?format=csv&type=connection.disabled")
	if rows, _ := csv.NewReader(strings.NewReader(res.Body)).ReadAll(); len(rows) != 2 {
		t.Fatalf("filtered CSV has %d rows", len(rows))
	}
}

func TestAuditPagesThroughLongHistories(t *testing.T) {
	s := admintest.New(t)
	ctx := context.Background()
	for i := range 130 {
		if err := s.Store.AppendAudit(ctx, store.AuditEvent{TenantID: s.Tenant.ID, ActorType: "system", ActorLabel: "seed",
			Action: "connection.tested", ConnectionID: s.SalesConn.ID, Reason: fmt.Sprintf("event-%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	b := s.Browser(t).SignIn(s.Admin.Email)
	seen := map[string]bool{}
	path := "/audit?type=connection.tested"
	for page := 0; path != ""; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		res := b.Get(path)
		admintest.WantStatus(t, res, http.StatusOK)
		for i := range 130 {
			r := fmt.Sprintf("event-%03d", i)
			if strings.Contains(res.Body, r) {
				if seen[r] {
					t.Fatalf("%s on two pages", r)
				}
				seen[r] = true
			}
		}
		path = ""
		if i := strings.Index(res.Body, `rel="next"`); i >= 0 {
			href := res.Body[strings.LastIndex(res.Body[:i], `href="`)+6:]
			path = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
		}
	}
	if len(seen) != 130 {
		t.Fatalf("saw %d of 130 events", len(seen))
	}
}
