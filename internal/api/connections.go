package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
)

// connectionJSON is a connection's metadata as the API shows it: no secret,
// no token.
type connectionJSON struct {
	ID                    string     `json:"id"`
	Name                  string     `json:"name"`
	Project               string     `json:"project"`
	ProjectID             string     `json:"project_id"`
	AccountType           string     `json:"account_type"`
	AuthType              string     `json:"auth_type"`
	Status                string     `json:"status"`
	StatusReason          string     `json:"status_reason,omitempty"`
	StatusCode            string     `json:"status_code,omitempty"`
	StatusChangedAt       time.Time  `json:"status_changed_at"`
	Account               account    `json:"account"`
	Scopes                []string   `json:"scopes"`
	RequestedScopes       []string   `json:"requested_scopes"`
	ClientID              string     `json:"client_id,omitempty"`
	ClientSecretExpiresAt *time.Time `json:"client_secret_expires_at,omitempty"`
	ClientCertThumbprint  string     `json:"client_certificate_thumbprint,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	LastRefreshAt         *time.Time `json:"last_refresh_at,omitempty"`
	LastUsedAt            *time.Time `json:"last_used_at,omitempty"`
	// EndUser and Metadata: set when a connect link made the connection.
	EndUser  *endUserJSON      `json:"end_user,omitempty"`
	Metadata map[string]string `json:"metadata"`
}

// endUserOf is the connection's end user, or nil when it has none.
func endUserOf(u store.EndUser) *endUserJSON {
	if u.ID == "" {
		return nil
	}
	return &endUserJSON{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName}
}

func metadataJSON(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func toJSON(c *store.Connection) connectionJSON {
	return connectionJSON{ID: c.ID, Name: c.Name, Project: c.ProjectName, ProjectID: c.ProjectID,
		AccountType: c.AccountType, AuthType: c.AuthType, Status: c.Status, StatusReason: c.StatusReason,
		StatusCode: c.StatusCode, StatusChangedAt: c.StatusChangedAt,
		Account: account{TenantID: first(c.AccountTID, c.MSTenant), User: first(c.AccountUsername, c.UserPrincipal)},
		Scopes:  nonNil(c.GrantedScopes), RequestedScopes: nonNil(c.RequestedScopes), ClientID: c.ClientID,
		ClientSecretExpiresAt: c.ClientSecretExpiresAt, ClientCertThumbprint: c.ClientCertThumbprint, CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt, LastRefreshAt: c.LastRefreshAt, LastUsedAt: c.LastUsedAt, EndUser: endUserOf(c.EndUser),
		Metadata: metadataJSON(c.Metadata)}
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getConnection serves GET /connections/{id}.
func (h *Handler) getConnection(w http.ResponseWriter, r *http.Request) {
	key := h.authenticate(w, r, h.Now())
	if key == nil {
		return
	}
	id, ok := connectionID(w, r)
	if !ok {
		return
	}
	c, err := h.Store.Connection(r.Context(), key.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !key.AllowsProject(c.ProjectID) {
		writeProblem(w, "connection_not_found", "No such connection.", 0)
		return
	}
	if err != nil {
		h.writeStoreError(w, "The broker could not read the connection.", err)
		return
	}
	writeJSON(w, toJSON(&c))
}

var statuses = []string{"pending", "active", "needs_reauth", "consent_required", "config_error",
	"secret_expiring", "disabled", "awaiting_approval"}

type connectionList struct {
	Connections []connectionJSON `json:"connections"`
	NextAfter   string           `json:"next_after,omitempty"` // pass as ?after= for the next page
}

// listConnections serves GET /connections?project=&status=&limit=&after=:
// the key's connections, newest first, a page at a time.
func (h *Handler) listConnections(w http.ResponseWriter, r *http.Request) {
	key := h.authenticate(w, r, h.Now())
	if key == nil {
		return
	}
	q := r.URL.Query()
	f := store.ListConnectionsFilter{ProjectIDs: key.ProjectIDs, Status: q.Get("status"), Limit: 100, AfterID: q.Get("after"),
		EndUserID: q.Get("end_user_id")}
	if len(f.EndUserID) > 200 || !utf8.ValidString(f.EndUserID) || strings.ContainsRune(f.EndUserID, 0) {
		writeProblem(w, "invalid_request", "end_user_id must be an end user's id, at most 200 characters of text.", 0)
		return
	}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		writeProblem(w, "invalid_request", "status must be one of the connection statuses in the API document.", 0)
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeProblem(w, "invalid_request", "limit must be a whole number from 1 to 500.", 0)
			return
		}
		f.Limit = n
	}
	if f.AfterID != "" && uuid.Validate(f.AfterID) != nil {
		writeProblem(w, "invalid_request", "after must be a connection ID from next_after.", 0)
		return
	}
	out := connectionList{Connections: []connectionJSON{}}
	if p := q.Get("project"); p != "" {
		id, err := h.projectID(r, key, p)
		if err != nil {
			h.writeStoreError(w, "The broker could not list connections.", err)
			return
		}
		if id == "" { // unknown, or outside the key's projects: nothing to list
			writeJSON(w, out)
			return
		}
		f.ProjectIDs = []string{id}
	}
	list, err := h.Store.ListConnections(r.Context(), key.TenantID, f)
	if err != nil {
		h.writeStoreError(w, "The broker could not list connections.", err)
		return
	}
	for i := range list {
		out.Connections = append(out.Connections, toJSON(&list[i]))
	}
	if len(list) == f.Limit {
		out.NextAfter = list[len(list)-1].ID
	}
	writeJSON(w, out)
}

// projectID resolves ?project= (an ID or a name) to a project the key may
// use; "" when there is none.
func (h *Handler) projectID(r *http.Request, key *apikeys.Key, p string) (string, error) {
	id := p
	if uuid.Validate(p) != nil {
		proj, err := h.Store.ProjectByName(r.Context(), key.TenantID, p)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		id = proj.ID
	}
	if !key.AllowsProject(id) {
		return "", nil
	}
	return id, nil
}
