package securitytest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// Claim: after real use — a sign-in with Microsoft, a client-credentials
// connection, token fetches, API keys, passwords and sessions — none of the
// secrets involved appears in a raw dump of the database (pg_dump, as a
// backup would be, and every text column read around row-level security)
// or anywhere in the debug-level log, and no page shows one.
func TestNoSecretInDatabaseDumpLogsOrPages(t *testing.T) {
	b := start(t)
	ctx := context.Background()
	admin := b.signInA(t)
	secrets := map[string]string{
		"tenant A's API key": b.A.APIKey, "tenant B's API key": b.B.TokenKey, "tenant B's admin key": b.B.AdmKey,
		"demo password": b.A.AdminPassword, "tenant B's password": bPassword,
		"daemon client secret": b.A.DaemonSecret,
	}
	for _, ck := range admin.c.Jar.Cookies(mustURL(t, b.URL)) {
		secrets["cookie "+ck.Name] = ck.Value
	}

	// A delegated connection: authorization code, refresh token, access token.
	res := admin.post("/connections", newConnectionForm("Secrets probe", b.projectID(t, "Sales")))
	callback := admin.toMicrosoft(res, b.Demo.Adele.UPN)
	cb, _ := url.Parse(callback)
	secrets["authorization code"] = cb.Query().Get("code")
	res = admin.get(callback)
	wantStatus(t, res, http.StatusSeeOther)
	id := strings.TrimPrefix(res.Header.Get("Location"), "/connections/")
	_, cr, err := b.App.Store.ConnectionWithCredentials(ctx, b.A.TenantID, id)
	if err != nil || cr.RefreshToken == "" || cr.AccessToken == "" {
		t.Fatalf("the signed-in connection holds no tokens: %v", err)
	}
	secrets["refresh token"], secrets["access token"] = cr.RefreshToken, cr.AccessToken

	// A client-credentials connection by certificate: a PKCS#12 file and
	// its password, uploaded through the form.
	certID, pfxPassword, keyParts := certificateConnection(t, b, admin)
	secrets["PKCS#12 password"] = pfxPassword
	for i, k := range keyParts {
		secrets["private key part "+string(rune('a'+i))] = k
	}

	// The tenant's own app registration: a client secret, then a certificate.
	for name, v := range tenantApp(t, b, admin) {
		secrets[name] = v
	}

	// Token fetches through the API, for every connection, forcing refreshes.
	api := b.client(t)
	for _, cid := range []string{id, b.A.ConnectionID, certID} {
		res := api.bearer(b.A.APIKey, "/api/v1/connections/"+cid+"/token?force_refresh=true")
		wantStatus(t, res, http.StatusOK)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(res.Body), &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token answer: %v %.200s", err, res.Body)
		}
		secrets["served access token "+cid] = tok.AccessToken
	}
	_, cr, _ = b.App.Store.ConnectionWithCredentials(ctx, b.A.TenantID, id)
	secrets["refreshed refresh token"] = cr.RefreshToken
	// Failures log too: a wrong API key, a wrong password, a revoked grant.
	api.bearer(b.A.APIKey[:len(b.A.APIKey)-4]+"AAAA", "/api/v1/connections/"+id+"/token")
	b.client(t).post("/login", url.Values{"email": {b.A.AdminEmail}, "password": {b.A.AdminPassword + "x"}})
	if err := b.Sim.RevokeUser(b.Demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	api.bearer(b.A.APIKey, "/api/v1/connections/"+id+"/token?force_refresh=true")

	for name, v := range secrets {
		if len(v) < 8 {
			t.Fatalf("%s is too short to look for: %q", name, v)
		}
	}
	values := make([]string, 0, len(secrets))
	for _, v := range secrets {
		values = append(values, v)
	}

	// The database, every text column, read as its owner around RLS.
	conntestAssertNoPlaintext(t, b.DBURL, values...)
	// The database as pg_dump writes it.
	if dump := pgDump(t, b.DBURL); len(dump) < 10_000 {
		t.Fatalf("pg_dump wrote only %d bytes", len(dump))
	} else {
		for name, v := range secrets {
			if strings.Contains(dump, v) {
				t.Errorf("pg_dump output holds the %s", name)
			}
		}
	}
	// The log of everything above, at debug level.
	logs := b.Logs.String()
	if strings.Count(logs, "\n") < 5 {
		t.Fatalf("only %d log lines: the log is not being captured", strings.Count(logs, "\n"))
	}
	for name, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("the log holds the %s", name)
		}
	}
	// The pages an admin sees about these connections.
	for _, p := range []string{"/connections", "/connections/" + id, "/connections/" + b.A.ConnectionID, "/connections/" + certID, "/audit", "/api-keys", "/settings/apps"} {
		body := admin.get(p).Body
		for name, v := range secrets {
			if !strings.HasPrefix(name, "cookie") && strings.Contains(body, v) {
				t.Errorf("%s shows the %s", p, name)
			}
		}
	}
}

func pgDump(t *testing.T, dbURL string) string {
	t.Helper()
	path, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatalf("pg_dump is not installed (apt-get install -y postgresql-client): %v", err)
	}
	out, err := exec.Command(path, "--data-only", "--no-owner", dbURL).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return string(out)
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
