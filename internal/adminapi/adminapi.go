// Package adminapi is the JSON mirror of the admin pages for automation:
// the connections list, one connection's details, its actions and the audit
// feed under /api/v1/admin/, for tenant admins' admin-scoped API keys. It
// parses and renders; internal/admin decides, exactly as for the pages.
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// KeyVerifier checks bearer keys; *apikeys.Verifier is one (use the same
// instance as the token API, so revocations and caches are shared).
type KeyVerifier interface {
	Verify(ctx context.Context, raw string) (*apikeys.Key, error)
}

// Handler serves /api/v1/admin.
type Handler struct {
	Service *admin.Service
	Keys    KeyVerifier
	Logger  *slog.Logger
	Now     func() time.Time
	// Webhooks manages webhook endpoints (webhooks.go); nil: not offered.
	Webhooks *webhooks.Service
	// Apps manages the tenant's own app registrations (apps.go); nil: not offered.
	Apps *tenantapps.Service
}

// New returns a Handler.
func New(svc *admin.Service, keys KeyVerifier, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{Service: svc, Keys: keys, Logger: logger, Now: svc.Now}
}

// MountAPI registers the routes; it has the shape of web.Deps.MountAPI
// (patterns relative to /api).
func (h *Handler) MountAPI(r chi.Router, _ *web.UI) {
	r.Route("/v1/admin", h.Routes)
}

// Routes registers the admin API on a router mounted at /api/v1/admin.
func (h *Handler) Routes(r chi.Router) {
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, "not_found", "There is no such admin API path.")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, "method_not_allowed", "The admin API path does not take this method.")
	})
	r.Get("/connections", h.list)
	r.Get("/connections/{id}", h.detail)
	r.Post("/connections/{id}/{action}", h.act)
	r.Get("/audit", h.audit)
	h.webhookRoutes(r)
	h.appRoutes(r)
}

// viewer authenticates the request's bearer key and returns it as a tenant
// admin within the key's projects, or answers and returns false.
func (h *Handler) viewer(w http.ResponseWriter, r *http.Request) (admin.Viewer, bool) {
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(auth, "bearer ")
	}
	if !ok {
		writeProblem(w, "unauthorized", "Send an admin-scoped API key as Authorization: Bearer brk_….")
		return admin.Viewer{}, false
	}
	key, err := h.Keys.Verify(r.Context(), strings.TrimSpace(raw))
	if errors.Is(err, apikeys.ErrInvalid) {
		writeProblem(w, "unauthorized", "The API key is not valid: unknown, mistyped or revoked.")
		return admin.Viewer{}, false
	}
	if err != nil {
		h.Logger.Error("adminapi: verifying an API key failed", "err", err, "request_id", web.RequestID(r.Context()))
		writeProblem(w, "internal_error", "The broker could not check the API key.")
		return admin.Viewer{}, false
	}
	if key.Scope != apikeys.ScopeAdmin && key.Scope != apikeys.ScopeOperator {
		writeProblem(w, "forbidden", "This API key may fetch tokens only; the admin API needs a key created with the admin API allowed.")
		return admin.Viewer{}, false
	}
	if ok, wait := key.Allow(h.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeProblem(w, "rate_limited", "This API key sent more requests than its rate allows.")
		return admin.Viewer{}, false
	}
	if key.Scope == apikeys.ScopeOperator {
		// A platform operator's key: every tenant, as an operator signed in
		// to the pages; the audit log names the key.
		return admin.Viewer{Kind: admin.KindOperator, ID: key.ID, Label: "operator key " + key.Name + " (" + key.Prefix + ")",
			RequestID: web.RequestID(r.Context())}, true
	}
	return admin.Viewer{Kind: admin.KindAPIKey, ID: key.ID, Label: key.Name + " (" + key.Prefix + ")", TenantID: key.TenantID,
		Admin: true, ProjectIDs: key.ProjectIDs, AllProjects: key.ProjectIDs == nil,
		RequestID: web.RequestID(r.Context())}, true
}

// problems are the codes this API answers with, and their status and title.
var problems = problem.Catalog{
	"invalid_request":      {Status: http.StatusBadRequest, Title: "The request is not valid"},
	"unauthorized":         {Status: http.StatusUnauthorized, Title: "Missing, unknown or revoked API key"},
	"forbidden":            {Status: http.StatusForbidden, Title: "Not allowed for this key"},
	"connection_not_found": {Status: http.StatusNotFound, Title: "No such connection"},
	"not_found":            {Status: http.StatusNotFound, Title: "No such API path"},
	"method_not_allowed":   {Status: http.StatusMethodNotAllowed, Title: "Method not allowed"},
	"conflict":             {Status: http.StatusConflict, Title: "Not possible in the connection's state"},
	"invalid_input":        {Status: http.StatusUnprocessableEntity, Title: "The input is not valid"},
	"upstream_refused":     {Status: http.StatusBadGateway, Title: "Microsoft refused or failed"},
	"rate_limited":         {Status: http.StatusTooManyRequests, Title: "Too many requests for this API key"},
	"internal_error":       {Status: http.StatusInternalServerError, Title: "The broker failed"},
	"webhook_not_found":    {Status: http.StatusNotFound, Title: "No such webhook endpoint"},
	"app_not_found":        {Status: http.StatusNotFound, Title: "No such app registration"},
}

func writeProblem(w http.ResponseWriter, code, detail string) { writeProblemField(w, code, detail, "") }

func writeProblemField(w http.ResponseWriter, code, detail, field string) {
	problems.Write(w, problem.Problem{Code: code, Detail: detail, Field: field}, 0)
}

// fail answers with an admin refusal, or a logged 500 for anything else.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := admin.AsError(err); ok {
		code := map[admin.Code]string{admin.CodeNotFound: "connection_not_found", admin.CodeForbidden: "forbidden",
			admin.CodeConflict: "conflict", admin.CodeInvalid: "invalid_input", admin.CodeUpstream: "upstream_refused"}[e.Code]
		writeProblemField(w, code, e.Message, e.Field)
		return
	}
	if errors.Is(err, store.ErrInvalid) { // Postgres refused the input (SQLSTATE 22…)
		writeProblemField(w, "invalid_input", "The request holds a value the broker cannot use.", "")
		return
	}
	h.Logger.Error("adminapi: request failed", "path", r.URL.Path, "err", err, "request_id", web.RequestID(r.Context()))
	writeProblem(w, "internal_error", "The broker failed; the request ID in X-Request-ID finds it in the log.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
