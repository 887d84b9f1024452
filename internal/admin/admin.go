// Package admin decides what tenant admins and platform operators may see
// and do with connections: the list, one connection's history and callers,
// the audit feed, API keys, and the actions (test, disable, enable, delete,
// rotate a client secret, approve, reject), each checked against the viewer
// and recorded in the audit log. It never sees an *http.Request:
// internal/adminweb and internal/adminapi parse and render, this package
// decides, internal/store holds the SQL.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

// Tokens is what the actions need of the token service: a token to test
// with, and dropping a connection from this replica's memory when an action
// changes it (other replicas notice the changed row within their poll).
type Tokens interface {
	Token(ctx context.Context, tenantID, connID string, r tokens.Request) (tokens.Token, error)
	Invalidate(connID string)
}

// Microsoft is what testing a broken connection and rotating a client
// secret ask of the identity platform; oauth.Provider has it.
type Microsoft interface {
	Refresh(ctx context.Context, authority, refreshToken string) (*oauth.Token, error)
	ClientCredentials(ctx context.Context, authority, clientID string, cred oauth.Credential) (*oauth.Token, error)
}

// KeyDropper forgets a revoked API key in this replica at once; the
// apikeys.Verifier has it. Other replicas learn of it from their poll.
type KeyDropper interface{ Drop(id string) }

// Service is the admin service. Its fields are its dependencies; Keys may be nil.
type Service struct {
	Store     *store.Store
	Tokens    Tokens
	Microsoft Microsoft
	Graph     oauth.Graph
	Keys      KeyDropper
	Logger    *slog.Logger
	Now       func() time.Time

	limitOnce sync.Once
	limit     *auth.Limiter
}

// New returns a Service; a nil logger discards, a nil clock is time.Now.
func New(st *store.Store, tok Tokens, ms Microsoft, graph oauth.Graph, keys KeyDropper, logger *slog.Logger, now func() time.Time) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, Tokens: tok, Microsoft: ms, Graph: graph, Keys: keys, Logger: logger, Now: now}
}

// Kinds of viewer, as the audit log names its actors.
const (
	KindUser     = "user"
	KindOperator = "operator"
	KindAPIKey   = "api_key"
)

// Viewer is who asks: a tenant user, a platform operator, or an admin-scoped
// API key (which acts as a tenant admin, within its projects).
type Viewer struct {
	Kind       string
	ID         string
	Label      string // email, or the key's name and prefix
	TenantID   string // empty for operators
	Admin      bool   // tenant admins and admin keys
	ProjectIDs []string
	// AllProjects: tenant admins, and keys without a project list. Members
	// and project-bound keys see ProjectIDs only (none when it is empty).
	AllProjects bool
	RequestID   string
}

// Operator reports whether the viewer is a platform operator.
func (v Viewer) Operator() bool { return v.Kind == KindOperator }

// TenantAdmin reports whether the viewer administers its own tenant.
func (v Viewer) TenantAdmin() bool { return !v.Operator() && v.Admin && v.TenantID != "" }

func (v Viewer) mayUse(projectID string) bool {
	return v.Operator() || v.AllProjects || slices.Contains(v.ProjectIDs, projectID)
}

// projectScope is the list's project filter: nil for everything in scope,
// else the projects the viewer may see (never nil for a bound viewer, so a
// member of no project sees nothing rather than everything).
func (v Viewer) projectScope() []string {
	if v.Operator() || v.AllProjects {
		return nil
	}
	if v.ProjectIDs == nil {
		return []string{}
	}
	return v.ProjectIDs
}

// Code says what kind of refusal an *Error is; handlers map it to a status.
type Code string

const (
	CodeNotFound  Code = "not_found" // not there, or not the viewer's to see: the same answer
	CodeForbidden Code = "forbidden" // visible, but not the viewer's to do
	CodeConflict  Code = "conflict"  // not possible in the connection's state
	CodeInvalid   Code = "invalid"   // input to fix; Field names it
	CodeUpstream  Code = "upstream"  // Microsoft refused or failed
)

// Error is a refusal with a message safe to show.
type Error struct {
	Code    Code
	Message string
	Field   string // for CodeInvalid: the input to fix
	Err     error  // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("admin: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("admin: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

var errNotFound = &Error{Code: CodeNotFound, Message: "There is no such connection, or it is not yours to see."}

func forbidden(msg string) *Error { return &Error{Code: CodeForbidden, Message: msg} }
func conflict(msg string) *Error  { return &Error{Code: CodeConflict, Message: msg} }

// Connection reads a connection the viewer may see. Anything else, another
// tenant's or another project's or one that does not exist, is the same
// CodeNotFound.
func (s *Service) Connection(ctx context.Context, v Viewer, id string) (store.Connection, error) {
	if uuid.Validate(id) != nil || len(id) != 36 {
		return store.Connection{}, errNotFound
	}
	tenantID := v.TenantID
	if v.Operator() {
		var err error
		tenantID, err = s.Store.ConnectionTenantID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.Connection{}, errNotFound
		}
		if err != nil {
			return store.Connection{}, fmt.Errorf("admin: find connection: %w", err)
		}
	}
	if tenantID == "" {
		return store.Connection{}, errNotFound
	}
	c, err := s.Store.Connection(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !v.mayUse(c.ProjectID) {
		return store.Connection{}, errNotFound
	}
	if err != nil {
		return store.Connection{}, fmt.Errorf("admin: get connection: %w", err)
	}
	return c, nil
}

// audit records what the viewer did. Failing to record is logged: the
// action already happened and must not be reported as failed.
func (s *Service) audit(ctx context.Context, v Viewer, tenantID, action, connID, reason string, details map[string]any) {
	err := s.Store.AppendAudit(ctx, store.AuditEvent{TenantID: tenantID, ActorType: v.Kind, ActorID: v.ID,
		ActorLabel: v.Label, Action: action, ConnectionID: connID, Reason: reason, Details: details, RequestID: v.RequestID})
	if err != nil {
		s.Logger.ErrorContext(ctx, "audit event not written", "action", action, "connection", connID,
			"request_id", v.RequestID, "err", err)
	}
}
