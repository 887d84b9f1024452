// Package connect decides connect links: a product's backend asks for a
// one-time URL for one of its own users (who has no broker login), and that
// person connects a mailbox on the hosted page. Sessions are created and
// read here; the connection itself is made by internal/connections, with
// the same form, validation and sign-in as the broker's own New connection
// page, so everything that applies to a connection made there applies here.
package connect

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
)

const (
	// DefaultExpiresIn and MaxExpiresIn bound a link's life (expires_in).
	DefaultExpiresIn = 30 * time.Minute
	MaxExpiresIn     = 24 * time.Hour
	MinExpiresIn     = time.Minute
)

// ErrNotFound is a session that does not exist or the caller may not see.
var ErrNotFound = errors.New("connect: not found")

// FieldError is a request field the service refuses, with why. Code is the
// API's problem code: invalid_input, or project_not_allowed.
type FieldError struct {
	Code, Field, Message string
}

func (e *FieldError) Error() string { return "connect: " + e.Field + ": " + e.Message }

func invalid(field, msg string) *FieldError {
	return &FieldError{Code: "invalid_input", Field: field, Message: msg}
}

// Service creates and serves connect sessions.
type Service struct {
	Store       *store.Store
	Connections *connections.Service
	PublicURL   string // BROKER_PUBLIC_URL: connect_url is built on it
	Logger      *slog.Logger
	Now         func() time.Time
}

// New returns a Service; a nil logger discards, a nil clock is time.Now.
func New(st *store.Store, conns *connections.Service, publicURL string, logger *slog.Logger, now func() time.Time) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, Connections: conns, PublicURL: strings.TrimRight(publicURL, "/"), Logger: logger, Now: now}
}

// Creator is who asks for a session: an API key, or an admin on a
// connection's page (KeyID empty, Label their email).
type Creator struct {
	TenantID   string
	KeyID      string
	UserID     string // the admin, when KeyID is ""
	Label      string
	ProjectIDs []string // nil: every project
	Admin      bool     // may reconnect any end user's connection
	RequestID  string
}

func (c Creator) allows(projectID string) bool {
	if c.ProjectIDs == nil {
		return true
	}
	for _, p := range c.ProjectIDs {
		if p == projectID {
			return true
		}
	}
	return false
}

// Token hashing: a link's token is 256 random bits; only its hash is kept.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is what the store keeps of a link's token.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte("broker connect link\x00" + token))
	return h[:]
}

// BrowserHash is what the store keeps of the secret in the cookie of the
// browser a session is bound to.
func BrowserHash(secret string) []byte {
	h := sha256.Sum256([]byte("broker connect browser\x00" + secret))
	return h[:]
}

// NewBrowserSecret is the secret a first opening puts in the cookie.
func NewBrowserSecret() string { return newToken() }

// flowSessionHash binds sign-in flows started from the page to the bound
// browser, as a broker login session binds its own.
func flowSessionHash(secret string) []byte {
	h := sha256.Sum256([]byte("broker connect flow session\x00" + secret))
	return h[:]
}

// URL is the connect_url of a token.
func (s *Service) URL(token string) string { return s.PublicURL + "/connect/" + token }
