package connectweb_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/store"
)

type client struct {
	t *testing.T
	s *server
	c *http.Client
}

func (s *server) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, s: s, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, target string, form url.Values) (int, string) {
	c.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = c.s.URL + target
	}
	req, _ := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (c *client) signIn(email string) *client {
	c.t.Helper()
	if status, body := c.do(http.MethodPost, "/login", url.Values{"email": {email}, "password": {conntest.Password}}); status != http.StatusSeeOther {
		c.t.Fatalf("sign in: %d %s", status, body)
	}
	return c
}

var reLink = regexp.MustCompile(`<code class="selectable small" id="connect-link">([^<]+)</code>`)

// A broken connection's page shows its end user and metadata, and offers a
// tenant admin a reconnect link, shown once, that opens the reconnect page
// in another browser; a member gets neither the button nor a link.
func TestAdminReconnectLink(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c, err := s.Store.CreateConnection(ctx, store.NewConnection{TenantID: s.Tenant.ID, ProjectID: s.Sales.ID, Name: "Dana's inbox",
		AccountType: "common", AuthType: "authorization_code", Status: "needs_reauth",
		EndUser:  store.EndUser{ID: "u-dana", Email: "dana@customer.test", DisplayName: "Dana Scully"},
		Metadata: map[string]string{"crm_account": "42"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.client(t).signIn(s.Admin.Email)
	status, page := admin.do(http.MethodGet, "/connections/"+c.ID, nil)
	for _, want := range []string{`id="end-user-id">u-dana<`, "Dana Scully", "dana@customer.test", "<code>crm_account</code>",
		`>42<`, `id="copy-reconnect-link"`} {
		if status != 200 || !strings.Contains(page, want) {
			t.Fatalf("connection page (%d) lacks %q:\n%s", status, want, page)
		}
	}
	status, page = admin.do(http.MethodPost, "/connections/"+c.ID+"/connect-link", url.Values{})
	m := reLink.FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("link page %d:\n%s", status, page)
	}
	link := html.UnescapeString(m[1])
	if !strings.HasPrefix(link, s.URL+"/connect/") {
		t.Fatalf("link %q", link)
	}
	// The end user, with no broker login, gets the reconnect page.
	status, page = s.client(t).do(http.MethodGet, link, nil)
	if status != 200 || !strings.Contains(page, `id="reconnect"`) || !strings.Contains(page, "Dana&#39;s inbox") {
		t.Fatalf("link opened: %d\n%s", status, page)
	}
	events, err := s.Store.ListAudit(ctx, s.Tenant.ID, store.AuditFilter{Action: "connect_session.created"})
	if err != nil || len(events) != 1 || events[0].ActorType != "user" || events[0].ActorID != s.Admin.ID ||
		events[0].Details["end_user_id"] != "u-dana" || events[0].ConnectionID != c.ID {
		t.Fatalf("audit %+v (%v)", events, err)
	}
	member := s.client(t).signIn(s.Member.Email)
	if _, page := member.do(http.MethodGet, "/connections/"+c.ID, nil); strings.Contains(page, "copy-reconnect-link") {
		t.Fatal("a member is offered a reconnect link")
	}
	if status, _ := member.do(http.MethodPost, "/connections/"+c.ID+"/connect-link", url.Values{}); status != http.StatusForbidden {
		t.Fatalf("member's link: %d", status)
	}
}
