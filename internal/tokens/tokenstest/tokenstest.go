// Package tokenstest sets up what token tests and the benchmark share: the
// simulated Microsoft on a loopback server with its demo directory, the
// broker's Microsoft client pointed at it, and connections holding real
// (simulated) refresh tokens, obtained by signing in as a browser would.
package tokenstest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
)

// Microsoft is the simulation running on loopback.
type Microsoft struct {
	Sim    *mssim.Sim
	Demo   mssim.Demo
	Server *httptest.Server
}

// StartMicrosoft starts the simulation with its demo directory. Its clock
// is the one the broker under test should use (Sim.Now), so tests can move
// time for both. Close the Server when done.
func StartMicrosoft() *Microsoft {
	sim := mssim.New(mssim.Options{})
	demo := mssim.SeedDemo(sim, mssim.DemoConfig{})
	return &Microsoft{Sim: sim, Demo: demo, Server: httptest.NewServer(sim.Handler())}
}

// Provider is the broker's Microsoft client, pointed at the simulation and
// using its clock.
func (m *Microsoft) Provider() *oauth.Microsoft {
	return &oauth.Microsoft{LoginBase: m.Server.URL, GraphBase: m.Server.URL, ClientID: m.Demo.WebApp.ClientID,
		ClientSecret: m.Demo.WebApp.Secret, RedirectURL: mssim.DemoRedirectURI, HTTPClient: oauth.NewHTTPClient(),
		Now: m.Sim.Now}
}

// SignIn signs upn in through the simulated pages with the given authority
// and returns what the code exchange gave: a refresh token among it.
func (m *Microsoft) SignIn(ctx context.Context, authority, upn string) (*oauth.Token, error) {
	p := m.Provider()
	var v [32]byte
	rand.Read(v[:])
	verifier := base64.RawURLEncoding.EncodeToString(v[:])
	sum := sha256.Sum256([]byte(verifier))
	u := p.AuthorizeURL(oauth.AuthorizeRequest{Authority: authority, State: "state", Nonce: "nonce",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		Scopes:        append([]string{"openid", "profile"}, mssim.OutlookScopes...)})
	back, err := mssim.SignIn(ctx, p.HTTPClient, u, upn, mssim.SignInOptions{})
	if err != nil {
		return nil, fmt.Errorf("tokenstest: sign in %s: %w", upn, err)
	}
	q, _ := url.ParseQuery(back.RawQuery)
	if q.Get("code") == "" {
		return nil, fmt.Errorf("tokenstest: sign in %s: %s %s", upn, q.Get("error"), q.Get("error_description"))
	}
	return p.Exchange(ctx, authority, q.Get("code"), verifier)
}

// Conn describes a connection to create.
type Conn struct {
	TenantID, ProjectID, Name string
	Status                    string // default active
	// Authorization code: the account type ("common" unless set) and the
	// user to sign in; Client credentials when ClientSecret is set.
	AccountType, UPN       string
	ClientID, ClientSecret string
	MSTenant               string // client credentials: default the demo's Contoso
	ClientSecretExpiresAt  *time.Time
	// Expired stores the access token as already expired, so the first
	// fetch must refresh. Otherwise the token from sign-in is stored.
	Expired bool
}

// Create makes the connection in the store, with a refresh token from a real
// sign-in for authorization-code connections.
func (m *Microsoft) Create(ctx context.Context, st *store.Store, c Conn) (store.Connection, error) {
	n := store.NewConnection{TenantID: c.TenantID, ProjectID: c.ProjectID, Name: c.Name, Status: c.Status,
		AccountType: c.AccountType, AuthType: "authorization_code", RequestedScopes: mssim.OutlookScopes}
	if n.Status == "" {
		n.Status = "active"
	}
	var tok *oauth.Token
	if c.ClientSecret != "" {
		n.AccountType, n.AuthType, n.MSTenant = "tenant", "client_credentials", c.MSTenant
		if n.MSTenant == "" {
			n.MSTenant = m.Demo.Contoso.ID
		}
		n.ClientID, n.ClientSecret, n.ClientSecretExpiresAt = c.ClientID, c.ClientSecret, c.ClientSecretExpiresAt
		n.UserPrincipal, n.RequestedScopes = m.Demo.Adele.UPN, []string{oauth.GraphDefaultScope}
		if n.ClientID == "" {
			n.ClientID = m.Demo.DaemonApp.ClientID
		}
	} else {
		if n.AccountType == "" {
			n.AccountType = "common"
		}
		var err error
		if tok, err = m.SignIn(ctx, n.AccountType, c.UPN); err != nil {
			return store.Connection{}, err
		}
	}
	conn, err := st.CreateConnection(ctx, n)
	if err != nil || tok == nil {
		return conn, err
	}
	expires := tok.ExpiresAt
	if c.Expired {
		expires = m.Sim.Now().Add(-time.Minute)
	}
	return st.UpdateConnection(ctx, c.TenantID, conn.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{RefreshToken: &tok.RefreshToken, AccessToken: &tok.AccessToken,
			AccessTokenExpiresAt: &expires, GrantedScopes: oauth.GrantedScopes(n.RequestedScopes, tok.Scopes, true),
			Account: &store.Account{Username: c.UPN}}, nil
	})
}
