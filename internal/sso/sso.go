// Package sso signs people in to the broker with Microsoft Entra ID: an
// admin links Entra tenants to the broker tenant (proved by signing in with
// an account of each), then their people sign in with the authorization
// code flow, PKCE and a nonce, matched by the id_token's tid and oid. Rules
// map Entra groups and app roles to broker roles and projects. The id_token
// is validated by the same oauth.Provider code connections use.
package sso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"time"

	"golang.org/x/oauth2"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Provider is what single sign-on needs from the identity platform: a
// Microsoft whose redirect URI is the SSO callback.
type Provider interface {
	AuthorizeURL(r oauth.AuthorizeRequest) string
	Exchange(ctx context.Context, authority, code, verifier string) (*oauth.Token, error)
	VerifyIDToken(ctx context.Context, authority, rawIDToken, nonce string) (*oauth.IDClaims, error)
}

// Flow kinds.
const (
	KindLogin  = "login"  // sign in to the broker
	KindLink   = "link"   // an admin proves an Entra tenant is theirs
	KindReauth = "reauth" // a signed-in SSO user confirms it is still them
)

// Authority for sign-in and linking: any work or school account; the tid
// then decides (personal accounts have no organisation to link).
const Authority = "organizations"

// FlowTTL bounds a round trip to Microsoft.
const FlowTTL = 10 * time.Minute

// Skew is how far Microsoft's clock may be behind the broker's when
// auth_time is compared with the start of a re-authentication.
const Skew = 2 * time.Minute

// Flow is one round trip's state. The web layer keeps it in an encrypted,
// signed cookie of this browser (nothing is in the database before the
// sign-in is proved), and passes it back with Microsoft's answer.
type Flow struct {
	Kind      string `json:"k"`
	State     string `json:"s"`
	Verifier  string `json:"v"`
	Nonce     string `json:"n"`
	Authority string `json:"a"`
	Next      string `json:"x,omitempty"`
	// Link and re-authentication: who started it, on which session.
	TenantID    string `json:"t,omitempty"`
	UserID      string `json:"u,omitempty"`
	SessionHash []byte `json:"h,omitempty"`
	Started     int64  `json:"at"` // Unix seconds
}

// Actor is the browser's current signed-in person, if any.
type Actor struct {
	TenantID, UserID, Email, Role string
	SessionHash                   []byte
}

// Service runs the flows.
type Service struct {
	Store    *store.Store
	Provider Provider
	Now      func() time.Time
	Logger   *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Begin prepares a flow and the Microsoft URL to send the browser to.
func (s *Service) Begin(kind string, a Actor, next, authority, loginHint string) (Flow, string) {
	f := Flow{Kind: kind, State: random(), Verifier: oauth2.GenerateVerifier(), Nonce: random(),
		Authority: authority, Next: next, Started: s.now().Unix()}
	req := oauth.AuthorizeRequest{Authority: authority, State: f.State, Nonce: f.Nonce,
		CodeChallenge: oauth2.S256ChallengeFromVerifier(f.Verifier), Scopes: []string{"openid", "profile", "email"},
		Prompt: "select_account"}
	if kind != KindLogin {
		f.TenantID, f.UserID, f.SessionHash = a.TenantID, a.UserID, a.SessionHash
	}
	if kind == KindReauth {
		// Fresh credentials, whatever session Microsoft holds: prompt=login,
		// and max_age=0 so the id_token's auth_time says when they were
		// entered (checked in Finish).
		zero := time.Duration(0)
		req.Prompt, req.MaxAge, req.LoginHint = "login", &zero, loginHint
	}
	return f, s.Provider.AuthorizeURL(req)
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
