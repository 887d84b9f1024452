// Package oauth is what the broker needs from an identity platform: build the
// authorize URL, exchange a code, refresh, client credentials, verify an
// id_token, and prove a token works against the API. Microsoft is the first
// (and so far only) implementation; its errors come back as *Error.
package oauth

import (
	"context"
	"time"
)

// Provider is an identity platform.
type Provider interface {
	AuthorizeURL(r AuthorizeRequest) string
	AdminConsentURL(authority, state string) string
	DefaultScope() string // the cloud's .default, as client credentials ask for it
	Exchange(ctx context.Context, authority, code, verifier string) (*Token, error)
	Refresh(ctx context.Context, authority, refreshToken string) (*Token, error)
	ClientCredentials(ctx context.Context, authority, clientID string, cred Credential) (*Token, error)
	VerifyIDToken(ctx context.Context, authority, rawIDToken, nonce string) (*IDClaims, error)
}

// Graph is the API a connection's token is for.
type Graph interface {
	Me(ctx context.Context, accessToken string) (*GraphUser, error)
	Inbox(ctx context.Context, accessToken, userPrincipal string) error
}

// AuthorizeRequest is one sign-in's parameters.
type AuthorizeRequest struct {
	Authority     string // common | organizations | consumers | tenant GUID or domain
	State         string
	CodeChallenge string // S256 of the PKCE verifier
	Nonce         string
	Scopes        []string
	Prompt        string
	LoginHint     string
	// MaxAge, when set, asks Microsoft for a credential entry no older than
	// it (OIDC max_age, seconds); the id_token's auth_time then says when.
	MaxAge *time.Duration
}

// Token is a token endpoint answer. Secrets stay in memory only.
type Token struct {
	AccessToken  string
	RefreshToken string // empty when none was issued: keep the old one
	IDToken      string
	ExpiresAt    time.Time
	Scopes       []string // granted, possibly fewer than asked
}

// IDClaims are the id_token claims the broker records.
type IDClaims struct {
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	Email             string `json:"email"`
	Nonce             string `json:"nonce"`
	Issuer            string `json:"iss"`
	// AuthTime is when the person last entered credentials (Unix seconds;
	// 0 when the app registration does not emit the optional claim).
	AuthTime int64    `json:"auth_time"`
	Groups   []string `json:"groups"` // group object IDs, when the app emits them
	Roles    []string `json:"roles"`  // app role values assigned to the person
	// ClaimNames names claims left out of the token: "groups" here is the
	// groups overage (more than 200 groups), to be read from Graph instead.
	ClaimNames map[string]string `json:"_claim_names"`
}

// GraphUser is the part of /me the broker shows.
type GraphUser struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// ConsumersTenantID is the tenant of personal Microsoft accounts.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// GraphDefaultScope is the client credentials scope in the global cloud;
// Microsoft.DefaultScope gives the one of the configured cloud.
const GraphDefaultScope = GlobalGraphResource + "/.default"

// GlobalGraphResource is Graph's resource identifier in the global cloud.
const GlobalGraphResource = "https://graph.microsoft.com"

// GraphResources are Graph's resource identifiers per national cloud: every
// Graph scope that names its resource, .default included, must use the
// cloud's own Graph host, and the platform answers granted scopes in that
// form ("Microsoft Graph national cloud deployments" and "Access national
// cloud deployments with the Microsoft Graph SDKs", learn.microsoft.com/graph/deployments,
// learn.microsoft.com/graph/sdks/national-clouds).
var GraphResources = map[string]string{
	"global":    GlobalGraphResource,
	"usgov":     "https://graph.microsoft.us",
	"usgov-dod": "https://dod-graph.microsoft.us",
	"china":     "https://microsoftgraph.chinacloudapi.cn",
}
