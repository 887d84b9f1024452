package mssim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func startProcess(t *testing.T, state string) *Process {
	t.Helper()
	p, err := Start(ServeConfig{Addr: "127.0.0.1:0", MSAAddr: "127.0.0.1:0", IdPAddr: "127.0.0.1:0", StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// processToken signs account in on a running process and redeems the code.
func processToken(t *testing.T, p *Process, tenant, account string) tokenResponse {
	t.Helper()
	q := url.Values{"client_id": {DemoWebClientID}, "response_type": {"code"}, "redirect_uri": {DemoRedirectURI},
		"scope": {"openid offline_access User.Read Mail.Read"}, "state": {"s"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(testVerifier)}, "code_challenge_method": {"S256"}}
	back, err := SignIn(context.Background(), nil, p.LoginURL+"/"+tenant+"/oauth2/v2.0/authorize?"+q.Encode(), account, SignInOptions{})
	if err != nil {
		t.Fatalf("%s: %v", account, err)
	}
	return processPost(t, p, tenant, url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {DemoRedirectURI}, "code_verifier": {testVerifier}})
}

func processPost(t *testing.T, p *Process, tenant string, form url.Values) tokenResponse {
	t.Helper()
	form.Set("client_id", DemoWebClientID)
	form.Set("client_secret", DemoWebClientSecret)
	res, err := http.PostForm(p.LoginURL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || res.StatusCode != 200 {
		t.Fatalf("token on %s: HTTP %d %v", tenant, res.StatusCode, err)
	}
	return tr
}

// The process serves three origins and, started again with the same state
// file, honours every refresh token it issued before.
func TestProcessRestartKeepsConnections(t *testing.T) {
	state := filepath.Join(t.TempDir(), "mssim-state.json")
	p := startProcess(t, state)
	if p.Restored || p.MSAURL == p.LoginURL || p.IdPURL == p.LoginURL || p.MSAURL == p.IdPURL {
		t.Fatalf("hosts %s %s %s, restored %v", p.LoginURL, p.MSAURL, p.IdPURL, p.Restored)
	}
	accounts := []struct{ tenant, account string }{
		{"common", "adele@" + DemoContosoDomain},
		{"consumers", "pat@outlook.com"},
		{"organizations", "lee@" + DemoNorthwindFederatedDomain},
	}
	var rts []string
	for _, a := range accounts {
		rts = append(rts, processToken(t, p, a.tenant, a.account).RefreshToken)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		p = startProcess(t, state)
		if !p.Restored {
			t.Fatal("state not restored")
		}
		for i, a := range accounts {
			tr := processPost(t, p, a.tenant, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rts[i]}})
			if tr.RefreshToken == "" || !strings.Contains(tr.Scope, "Mail.Read") {
				t.Fatalf("round %d, %s: %+v", round, a.account, tr.Scope)
			}
			rts[i] = tr.RefreshToken
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
