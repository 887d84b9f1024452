package connections

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Project is a connection's Location.
type Project = store.Project

// FlowTTL is how long a sign-in or admin consent round trip may take.
const FlowTTL = 10 * time.Minute

// PendingTTL is how long a new connection whose sign-in never succeeded
// (cancelled, failed or abandoned at Microsoft) stays in the list as
// Pending, for another try; then housekeeping removes it. A connection
// that signed in once never becomes pending again, so it is never removed.
const PendingTTL = time.Hour

// ErrNotFound is a connection that does not exist or that the actor may not
// see; the two look the same on purpose.
var ErrNotFound = errors.New("connections: not found")

// ErrInvalid means the form has field errors to show.
var ErrInvalid = errors.New("connections: invalid form")

// Service sets up connections. Its fields are its dependencies.
type Service struct {
	Store    *store.Store
	Provider oauth.Provider
	Graph    oauth.Graph
	Logger   *slog.Logger
	Now      func() time.Time
}

// New returns a Service; a nil logger discards, a nil clock is time.Now.
func New(st *store.Store, p oauth.Provider, g oauth.Graph, logger *slog.Logger, now func() time.Time) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, Provider: p, Graph: g, Logger: logger, Now: now}
}

// Actor is the signed-in person a request acts for.
type Actor struct {
	TenantID    string
	UserID      string
	Email       string
	Admin       bool     // tenant admins may use every project
	ProjectIDs  []string // the projects a member may use
	SessionHash []byte   // identifies the browser session a flow is bound to
	RequestID   string
}

// MayUse reports whether the actor may create or see connections in project.
func (a Actor) MayUse(projectID string) bool {
	return a.Admin || slices.Contains(a.ProjectIDs, projectID)
}

// Projects lists the projects the actor may put a connection in.
func (s *Service) Projects(ctx context.Context, a Actor) ([]Project, error) {
	all, err := s.Store.ListProjects(ctx, a.TenantID)
	if err != nil {
		return nil, fmt.Errorf("connections: projects: %w", err)
	}
	return slices.DeleteFunc(all, func(p Project) bool { return !a.MayUse(p.ID) }), nil
}

// Connection reads a connection the actor may see.
func (s *Service) Connection(ctx context.Context, a Actor, id string) (store.Connection, error) {
	c, err := s.Store.Connection(ctx, a.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !a.MayUse(c.ProjectID)) {
		return store.Connection{}, ErrNotFound
	}
	if err != nil {
		return store.Connection{}, fmt.Errorf("connections: get: %w", err)
	}
	return c, nil
}

func (s *Service) audit(ctx context.Context, a Actor, action, connID, reason string, details map[string]any) {
	err := s.Store.AppendAudit(ctx, store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID,
		ActorLabel: a.Email, Action: action, ConnectionID: connID, Reason: reason, Details: details, RequestID: a.RequestID})
	if err != nil {
		s.Logger.ErrorContext(ctx, "audit event not written", "action", action, "connection", connID, "err", err)
	}
}

// randomToken is 32 random bytes, base64url: states, verifiers' peers, nonces.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stateHash is what the store keeps of a state: a database read does not
// yield a state that could complete someone's sign-in.
func stateHash(state string) []byte {
	h := sha256.Sum256([]byte("broker oauth state\x00" + state))
	return h[:]
}
