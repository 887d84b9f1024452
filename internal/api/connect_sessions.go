package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// connectSessionJSON is a connect session as the API shows it. ConnectURL
// is only in the answer to its creation: the broker keeps no copy.
type connectSessionJSON struct {
	ID                    string            `json:"id"`
	Status                string            `json:"status"`
	ConnectURL            string            `json:"connect_url,omitempty"`
	ExpiresAt             time.Time         `json:"expires_at"`
	ProjectID             string            `json:"project_id"`
	EndUser               endUserJSON       `json:"end_user"`
	ConnectionName        string            `json:"connection_name,omitempty"`
	AllowedAccountTypes   []string          `json:"allowed_account_types"`
	AllowedAuthTypes      []string          `json:"allowed_auth_types"`
	Scopes                []string          `json:"scopes"`
	ReconnectConnectionID string            `json:"reconnect_connection_id,omitempty"`
	ReturnURL             string            `json:"return_url,omitempty"`
	Metadata              map[string]string `json:"metadata"`
	ConnectionID          string            `json:"connection_id,omitempty"`
	FailureReason         string            `json:"failure_reason,omitempty"`
	CreatedAt             time.Time         `json:"created_at"`
	FinishedAt            *time.Time        `json:"finished_at,omitempty"`
}

type endUserJSON struct {
	ID          string `json:"id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

func connectSessionToJSON(cs store.ConnectSession, now time.Time) connectSessionJSON {
	md := cs.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return connectSessionJSON{ID: cs.ID, Status: cs.StatusAt(now), ExpiresAt: cs.ExpiresAt, ProjectID: cs.ProjectID,
		EndUser:        endUserJSON{ID: cs.EndUser.ID, Email: cs.EndUser.Email, DisplayName: cs.EndUser.DisplayName},
		ConnectionName: cs.ConnectionName, AllowedAccountTypes: nonNil(cs.AllowedAccountTypes),
		AllowedAuthTypes: nonNil(cs.AllowedAuthTypes), Scopes: nonNil(cs.Scopes),
		ReconnectConnectionID: cs.ReconnectConnectionID, ReturnURL: cs.ReturnURL, Metadata: md,
		ConnectionID: cs.ConnectionID, FailureReason: cs.FailureReason, CreatedAt: cs.CreatedAt, FinishedAt: cs.FinishedAt}
}

func (h *Handler) connectRoutes(r chi.Router) {
	r.Post("/connect-sessions", h.createConnectSession)
	r.Get("/connect-sessions/{id}", h.getConnectSession)
	r.Delete("/connect-sessions/{id}", h.revokeConnectSession)
}

func creator(key *apikeys.Key, r *http.Request) connect.Creator {
	return connect.Creator{TenantID: key.TenantID, KeyID: key.ID, Label: key.Name, ProjectIDs: key.ProjectIDs,
		Admin: key.Scope == apikeys.ScopeAdmin, RequestID: web.RequestID(r.Context())}
}

// maxConnectBody bounds a session request: metadata is small by design.
const maxConnectBody = 64 << 10

// createConnectSession serves POST /connect-sessions.
func (h *Handler) createConnectSession(w http.ResponseWriter, r *http.Request) {
	now := h.Now()
	key := h.authenticate(w, r, now)
	if key == nil {
		return
	}
	if h.Connect == nil {
		writeProblem(w, "not_found", "Connect links are not enabled on this broker.", 0)
		return
	}
	if h.ConnectLimit != nil {
		if ok, wait := h.ConnectLimit.Allow(key.ID, now); !ok {
			writeProblem(w, "rate_limited", "This API key created connect sessions faster than its rate allows.", wait)
			return
		}
	}
	var req connect.Request
	if field, msg := decodeStrict(w, r, &req); msg != "" {
		writeField(w, field, msg)
		return
	}
	out, err := h.Connect.Create(r.Context(), creator(key, r), req)
	var fe *connect.FieldError
	switch {
	case errors.As(err, &fe):
		problemTypes.Write(w, problem.Problem{Code: fe.Code, Detail: fe.Message, Field: fe.Field}, 0)
	case err != nil:
		h.writeStoreError(w, "The broker could not create the connect session.", err)
	default:
		body := connectSessionToJSON(out.Session, now)
		body.ConnectURL = out.URL
		w.Header().Set("Location", "/api/v1/connect-sessions/"+out.Session.ID)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(body)
	}
}

func writeField(w http.ResponseWriter, field, msg string) {
	problemTypes.Write(w, problem.Problem{Code: "invalid_input", Detail: msg, Field: field}, 0)
}

// decodeStrict reads a JSON object, refusing unknown fields and wrong
// types by name: ("field", "why"), or ("", "") when it decoded.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) (string, string) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return "body", "Send the request as Content-Type: application/json."
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxConnectBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case err == nil:
		if dec.Decode(new(json.RawMessage)) != io.EOF {
			return "body", "The body must be one JSON object."
		}
		return "", ""
	case errors.As(err, &typeErr):
		return typeErr.Field, typeErr.Field + " has the wrong type; see the API document."
	case errors.As(err, &maxErr):
		return "body", "The body is larger than 64 KB."
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return name, "Unknown field " + name + "; see the API document."
	}
	return "body", "The body is not a valid JSON object."
}

func (h *Handler) connectSessionFor(w http.ResponseWriter, r *http.Request, now time.Time) (*apikeys.Key, string, bool) {
	key := h.authenticate(w, r, now)
	if key == nil {
		return nil, "", false
	}
	id := chi.URLParam(r, "id")
	if h.Connect == nil || uuid.Validate(id) != nil || len(id) != 36 {
		writeProblem(w, "connect_session_not_found", "No such connect session.", 0)
		return nil, "", false
	}
	return key, strings.ToLower(id), true
}

// getConnectSession serves GET /connect-sessions/{id}.
func (h *Handler) getConnectSession(w http.ResponseWriter, r *http.Request) {
	now := h.Now()
	key, id, ok := h.connectSessionFor(w, r, now)
	if !ok {
		return
	}
	cs, err := h.Connect.Get(r.Context(), creator(key, r), id)
	h.answerConnectSession(w, cs, err, now)
}

// revokeConnectSession serves DELETE /connect-sessions/{id}: the link stops
// working at once; a finished session keeps its outcome.
func (h *Handler) revokeConnectSession(w http.ResponseWriter, r *http.Request) {
	now := h.Now()
	key, id, ok := h.connectSessionFor(w, r, now)
	if !ok {
		return
	}
	cs, err := h.Connect.Revoke(r.Context(), creator(key, r), id)
	h.answerConnectSession(w, cs, err, now)
}

func (h *Handler) answerConnectSession(w http.ResponseWriter, cs store.ConnectSession, err error, now time.Time) {
	switch {
	case errors.Is(err, connect.ErrNotFound):
		writeProblem(w, "connect_session_not_found", "No such connect session.", 0)
	case err != nil:
		h.writeStoreError(w, "The broker could not read the connect session.", err)
	default:
		writeJSON(w, connectSessionToJSON(cs, now))
	}
}
