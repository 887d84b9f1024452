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
	Provider oauth.Provider // the broker's own app
	Graph    oauth.Graph
	Logger   *slog.Logger
	Now      func() time.Time
	// Apps, when set, gives the client of a tenant's own app registration
	// (internal/tenantapps): a connection made with one signs in,
	// reconnects and asks for admin consent as that app.
	Apps AppProviders
}

// AppProviders picks the identity-platform client of an app registration
// of the tenant; appID "" is the broker's own app.
type AppProviders interface {
	Provider(ctx context.Context, tenantID, appID string) (oauth.Provider, error)
}

// providerFor is the client of the connection's app.
func (s *Service) providerFor(ctx context.Context, tenantID, appID string) (oauth.Provider, error) {
	if appID == "" || s.Apps == nil {
		return s.Provider, nil
	}
	p, err := s.Apps.Provider(ctx, tenantID, appID)
	if err != nil {
		return nil, fmt.Errorf("connections: app registration: %w", err)
	}
	return p, nil
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
	// Via is set when a product's end user acts through a connect link:
	// audit events then name the API key that made the link and the end
	// user, and what the actor creates carries the end user and metadata.
	Via *ConnectLink
}

// ConnectLink is the connect session an end user acts through.
type ConnectLink struct {
	SessionID      string
	APIKeyID       string // "" when an admin made the link on a connection's page
	APIKeyLabel    string // the key's name, or the admin's email
	EndUser        store.EndUser
	Metadata       map[string]string
	ConnectionName string // fixed by the session; "" lets the end user name it
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
	e := store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID,
		ActorLabel: a.Email, Action: action, ConnectionID: connID, Reason: reason, Details: details, RequestID: a.RequestID}
	if v := a.Via; v != nil {
		e.Details = viaDetails(v, details)
		if v.APIKeyID != "" {
			e.ActorType, e.ActorID, e.ActorLabel = "api_key", v.APIKeyID, v.APIKeyLabel
		}
	}
	err := s.Store.AppendAudit(ctx, e)
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

// viaDetails adds the connect link and its end user to an audit event's
// details, without changing the caller's map.
func viaDetails(v *ConnectLink, details map[string]any) map[string]any {
	out := map[string]any{"connect_session_id": v.SessionID, "end_user_id": v.EndUser.ID}
	if v.EndUser.Email != "" {
		out["end_user_email"] = v.EndUser.Email
	}
	if v.APIKeyID == "" && v.APIKeyLabel != "" {
		out["link_created_by"] = v.APIKeyLabel
	}
	for k, val := range details {
		out[k] = val
	}
	return out
}

// endUser is what a connection made by the actor carries: the connect
// link's end user and metadata, or nothing.
func (a Actor) endUser() (store.EndUser, map[string]string) {
	if a.Via == nil {
		return store.EndUser{}, nil
	}
	return a.Via.EndUser, a.Via.Metadata
}
