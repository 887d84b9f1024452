package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
)

// connectionJSON is a connection as the admin API shows it: no secret, no token.
type connectionJSON struct {
	ID                    string     `json:"id"`
	TenantID              string     `json:"tenant_id"`
	Name                  string     `json:"name"`
	Project               string     `json:"project"`
	ProjectID             string     `json:"project_id"`
	Account               string     `json:"account,omitempty"`
	AccountTenantID       string     `json:"account_tenant_id,omitempty"`
	AccountType           string     `json:"account_type"`
	AuthType              string     `json:"auth_type"`
	MSTenant              string     `json:"ms_tenant,omitempty"`
	ClientID              string     `json:"client_id,omitempty"`
	Status                string     `json:"status"`
	StatusReason          string     `json:"status_reason,omitempty"`
	StatusCode            string     `json:"status_code,omitempty"`
	StatusTraceID         string     `json:"status_trace_id,omitempty"`
	StatusChangedAt       time.Time  `json:"status_changed_at"`
	RequestedScopes       []string   `json:"requested_scopes"`
	GrantedScopes         []string   `json:"granted_scopes"`
	AccessTokenExpiresAt  *time.Time `json:"access_token_expires_at,omitempty"`
	ClientSecretExpiresAt *time.Time `json:"client_secret_expires_at,omitempty"`
	ClientCertThumbprint  string     `json:"client_certificate_thumbprint,omitempty"`
	LastRefreshAt         *time.Time `json:"last_refresh_at,omitempty"`
	LastUsedAt            *time.Time `json:"last_used_at,omitempty"`
	CreatedBy             string     `json:"created_by,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	LastCaller            string     `json:"last_caller,omitempty"`
	// Approval, in a tenant whose connections need it: serves no tokens
	// until approved_at is set, whatever the status.
	NeedsApproval bool       `json:"needs_approval,omitempty"`
	ApprovedAt    *time.Time `json:"approved_at,omitempty"`
	ApprovedBy    string     `json:"approved_by,omitempty"`
}

func toJSON(c store.Connection) connectionJSON {
	account := c.AccountUsername
	if account == "" {
		account = c.UserPrincipal
	}
	return connectionJSON{ID: c.ID, TenantID: c.TenantID, Name: c.Name, Project: c.ProjectName, ProjectID: c.ProjectID,
		Account: account, AccountTenantID: c.AccountTID, AccountType: c.AccountType, AuthType: c.AuthType,
		MSTenant: c.MSTenant, ClientID: c.ClientID, Status: c.Status, StatusReason: c.StatusReason,
		StatusCode: c.StatusCode, StatusTraceID: c.StatusTraceID, StatusChangedAt: c.StatusChangedAt,
		RequestedScopes: nonNil(c.RequestedScopes), GrantedScopes: nonNil(c.GrantedScopes),
		AccessTokenExpiresAt: c.AccessTokenExpiresAt, ClientSecretExpiresAt: c.ClientSecretExpiresAt,
		ClientCertThumbprint: c.ClientCertThumbprint,
		LastRefreshAt:        c.LastRefreshAt, LastUsedAt: c.LastUsedAt, CreatedBy: c.CreatedByEmail, CreatedAt: c.CreatedAt,
		NeedsApproval: c.NeedsApproval, ApprovedAt: c.ApprovedAt, ApprovedBy: c.ApprovedBy}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type listJSON struct {
	Connections []connectionJSON `json:"connections"`
	Counts      map[string]int   `json:"counts"` // per status, every filter but status applied
	Total       int              `json:"total"`
	Next        string           `json:"next_cursor,omitempty"` // pass as ?cursor= for the next page
}

// list serves GET /connections with the list page's filters:
// status, project (ID), account_type, auth_type, q, sort, cursor, limit.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := admin.Filter{Status: q.Get("status"), ProjectID: q.Get("project"), AccountType: q.Get("account_type"),
		AuthType: q.Get("auth_type"), Search: q.Get("q"), Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	if s := q.Get("status"); s != "" && !admin.ValidStatus(s) {
		writeProblem(w, "invalid_request", "status must be a connection status or broken.")
		return
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			writeProblem(w, "invalid_request", "limit must be a whole number from 1 to 200.")
			return
		}
		f.Limit = n
	}
	l, err := h.Service.List(r.Context(), v, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := listJSON{Connections: []connectionJSON{}, Counts: l.Counts, Total: l.Total, Next: l.Next}
	for _, row := range l.Rows {
		c := toJSON(row.Connection)
		if lc, ok := l.LastCallers[row.ID]; ok {
			c.LastCaller = lc.KeyName
		}
		out.Connections = append(out.Connections, c)
	}
	writeJSON(w, http.StatusOK, out)
}

type detailJSON struct {
	Connection    connectionJSON `json:"connection"`
	StatusHistory []historyJSON  `json:"status_history"`
	Callers       []callerJSON   `json:"callers"`
	CallersSince  time.Time      `json:"callers_since"`
	Audit         []auditJSON    `json:"audit"`
	Actions       []string       `json:"actions"` // what this key may do now: POST …/{action}
}

type historyJSON struct {
	At            time.Time `json:"at"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	ErrorCode     string    `json:"error_code,omitempty"`
	TraceID       string    `json:"trace_id,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
}

type callerJSON struct {
	APIKeyID  string    `json:"api_key_id"`
	Name      string    `json:"name,omitempty"`
	Prefix    string    `json:"prefix,omitempty"`
	Revoked   bool      `json:"revoked"`
	Cached    int64     `json:"cached"`
	Refreshed int64     `json:"refreshed"`
	FirstAt   time.Time `json:"first_at"`
	LastAt    time.Time `json:"last_at"`
}

type auditJSON struct {
	At           time.Time      `json:"at"`
	TenantID     string         `json:"tenant_id,omitempty"`
	ActorType    string         `json:"actor_type"`
	ActorID      string         `json:"actor_id,omitempty"`
	Actor        string         `json:"actor,omitempty"`
	Type         string         `json:"type"`
	ConnectionID string         `json:"connection_id,omitempty"`
	Reason       string         `json:"reason,omitempty"`
	Details      map[string]any `json:"details,omitempty"`
	RequestID    string         `json:"request_id,omitempty"`
}

func (h *Handler) detail(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	d, err := h.Service.Detail(r.Context(), v, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := detailJSON{Connection: toJSON(d.Connection), StatusHistory: []historyJSON{}, Callers: []callerJSON{},
		CallersSince: d.CallersSince, Audit: []auditJSON{}, Actions: []string{}}
	for _, e := range d.History {
		out.StatusHistory = append(out.StatusHistory, historyJSON{At: e.At, Status: e.Status, Reason: e.Reason,
			ErrorCode: e.ErrorCode, TraceID: e.TraceID, CorrelationID: e.CorrelationID})
	}
	for _, u := range d.Callers {
		out.Callers = append(out.Callers, callerJSON{APIKeyID: u.APIKeyID, Name: u.KeyName, Prefix: u.KeyPrefix,
			Revoked: u.KeyRevoked, Cached: u.Cached, Refreshed: u.Refreshed, FirstAt: u.FirstAt, LastAt: u.LastAt})
	}
	for _, e := range d.Audit {
		out.Audit = append(out.Audit, auditJSON{At: e.At, TenantID: e.TenantID, ActorType: e.ActorType, ActorID: e.ActorID,
			Actor: e.ActorLabel, Type: e.Action, ConnectionID: e.ConnectionID, Reason: e.Reason, Details: e.Details,
			RequestID: e.RequestID})
	}
	for _, a := range d.Actions {
		out.Actions = append(out.Actions, string(a))
	}
	writeJSON(w, http.StatusOK, out)
}

// actionBody is an action's JSON body; every field is optional but the
// reason of disable, delete and reject and the secret of rotate-secret.
type actionBody struct {
	Reason        string `json:"reason"`
	ClientSecret  string `json:"client_secret"`
	SecretExpires string `json:"secret_expires"` // YYYY-MM-DD
	// rotate-secret with a certificate instead: PEM (key and certificate),
	// or a PKCS#12 file (base64) with its password.
	CertificatePEM      string `json:"certificate_pem"`
	CertificatePKCS12   []byte `json:"certificate_pkcs12"`
	CertificatePassword string `json:"certificate_password"`
}

type actionJSON struct {
	Action     string            `json:"action"`
	Message    string            `json:"message"`
	Connection *connectionJSON   `json:"connection,omitempty"` // absent after delete
	Test       *admin.TestResult `json:"test,omitempty"`
}

func (h *Handler) act(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	a, known := admin.ParseAction(chi.URLParam(r, "action"))
	if !known {
		writeProblem(w, "not_found", "There is no such action; see the connection's actions.")
		return
	}
	var body actionBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 192<<10)) // room for a certificate chain
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeProblem(w, "invalid_request", "The body must be a JSON object with reason, client_secret, secret_expires, "+
			"certificate_pem, certificate_pkcs12 (base64) or certificate_password.")
		return
	}
	out, err := h.Service.Do(r.Context(), v, chi.URLParam(r, "id"), a,
		admin.Input{Reason: body.Reason, ClientSecret: body.ClientSecret, SecretExpires: body.SecretExpires,
			CertPEM: body.CertificatePEM, CertPKCS12: body.CertificatePKCS12, CertPassword: body.CertificatePassword})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res := actionJSON{Action: string(a), Message: out.Message, Test: out.Test}
	if a != admin.ActDelete {
		c := toJSON(out.Connection)
		res.Connection = &c
	}
	writeJSON(w, http.StatusOK, res)
}

type auditListJSON struct {
	Events []auditJSON `json:"events"`
	Next   string      `json:"next_cursor,omitempty"`
}

// audit serves GET /audit?actor=&connection=&type=&from=&to=&cursor=&limit=.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := admin.FeedFilter{Actor: q.Get("actor"), ConnectionID: q.Get("connection"), Action: q.Get("type"),
		From: q.Get("from"), To: q.Get("to"), Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeProblem(w, "invalid_request", "limit must be a whole number from 1 to 1000.")
			return
		}
		f.Limit = n
	}
	feed, err := h.Service.Feed(r.Context(), v, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for field, msg := range feed.Problems {
		writeProblemField(w, "invalid_request", msg, field)
		return
	}
	out := auditListJSON{Events: []auditJSON{}, Next: feed.Next}
	for _, e := range feed.Entries {
		out.Events = append(out.Events, auditJSON{At: e.At, TenantID: e.TenantID, ActorType: e.ActorType, ActorID: e.ActorID,
			Actor: e.ActorLabel, Type: e.Action, ConnectionID: e.ConnectionID, Reason: e.Reason, Details: e.Details,
			RequestID: e.RequestID})
	}
	writeJSON(w, http.StatusOK, out)
}
