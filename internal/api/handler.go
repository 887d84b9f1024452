// Package api is the REST API internal services call, mounted at /api/v1
// outside the browser session and CSRF middleware: callers authenticate with
// an API key as a bearer token. Its hot path, GET /connections/{id}/token,
// answers a warm request from memory alone: the key from the verifier's
// cache, the token from the token service's.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

// Handler serves /api/v1.
type Handler struct {
	Store  *store.Store
	Tokens *tokens.Service
	Keys   *apikeys.Verifier
	Usage  *tokens.Usage // nil: usage is not recorded
	Logger *slog.Logger
	Now    func() time.Time
	// TokenWait bounds how long a token request waits for a refresh
	// (default 10s); past it the caller gets upstream_unavailable.
	TokenWait time.Duration
	Graph     *graphproxy.Proxy // nil: the Graph proxy answers not_found
	// Connect makes connect links (nil: not_found); ConnectLimit, if set,
	// bounds how fast one key creates them.
	Connect      *connect.Service
	ConnectLimit *apikeys.PerKey
}

// New returns a Handler with its dependencies.
func New(st *store.Store, svc *tokens.Service, keys *apikeys.Verifier, usage *tokens.Usage,
	logger *slog.Logger, now func() time.Time) *Handler {
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Handler{Store: st, Tokens: svc, Keys: keys, Usage: usage, Logger: logger, Now: now, TokenWait: 10 * time.Second}
}

// Routes registers the API on r, which is meant to be mounted at /api/v1:
//
//	r.Route("/api/v1", apiHandler.Routes)
func (h *Handler) Routes(r chi.Router) {
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, "not_found", "There is no such API path; see /api/v1/openapi.json.", 0)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, "method_not_allowed", "The API path does not take this method.", 0)
	})
	r.Get("/openapi.json", serveOpenAPI)
	r.Get("/connections", h.listConnections)
	r.Get("/connections/{id}", h.getConnection)
	r.Get("/connections/{id}/token", h.token)
	r.Get("/events", h.listEvents)
	h.graphRoutes(r)
	h.connectRoutes(r)
}

// authenticate returns the request's verified API key, or answers 401 (or
// 429 when the key is over its rate) and returns nil. It is a call at the top
// of each handler rather than middleware, so the hot path does not copy the
// request to carry the key in its context.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, now time.Time) *apikeys.Key {
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		if raw, ok = strings.CutPrefix(auth, "bearer "); !ok {
			writeProblem(w, "unauthorized", "Send an API key as Authorization: Bearer brk_….", 0)
			return nil
		}
	}
	key, err := h.Keys.Verify(r.Context(), strings.TrimSpace(raw))
	if errors.Is(err, apikeys.ErrInvalid) {
		writeProblem(w, "unauthorized", "The API key is not valid: unknown, mistyped or revoked.", 0)
		return nil
	}
	if err != nil {
		h.writeStoreError(w, "The broker could not check the API key.", err)
		return nil
	}
	if key.Scope == apikeys.ScopeOperator {
		writeProblem(w, "unauthorized", "An operator key is for the admin API (/api/v1/admin/…); tokens are fetched with a tenant's key.", 0)
		return nil
	}
	if ok, wait := key.Allow(now); !ok {
		writeProblem(w, "rate_limited", "This API key sent more requests than its rate allows.", wait)
		return nil
	}
	return key
}

// connectionID reads {id}; anything but a UUID is simply not found, with no
// query and no hint.
func connectionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	return validConnectionID(w, chi.URLParam(r, "id"))
}

// validConnectionID is connectionID for an {id} already read.
func validConnectionID(w http.ResponseWriter, id string) (string, bool) {
	if err := uuid.Validate(id); err != nil || len(id) != 36 {
		writeProblem(w, "connection_not_found", "No such connection.", 0)
		return "", false
	}
	return strings.ToLower(id), true
}
