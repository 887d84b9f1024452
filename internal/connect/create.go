package connect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
)

// Request is POST /api/v1/connect-sessions's body, as decoded.
type Request struct {
	Project               string            `json:"project"`
	EndUser               *EndUserRequest   `json:"end_user"`
	ConnectionName        string            `json:"connection_name"`
	AllowedAccountTypes   []string          `json:"allowed_account_types"`
	AllowedAuthTypes      []string          `json:"allowed_auth_types"`
	Scopes                []string          `json:"scopes"`
	ReconnectConnectionID string            `json:"reconnect_connection_id"`
	ReturnURL             string            `json:"return_url"`
	ExpiresIn             *int64            `json:"expires_in"`
	Metadata              map[string]string `json:"metadata"`
}

// EndUserRequest is the request's end_user.
type EndUserRequest struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
}

// Created is a new session and its one-time URL, which is shown once.
type Created struct {
	Session store.ConnectSession
	URL     string
}

// Metadata limits: a small map of labels, not a document store.
const (
	maxMetadataKeys  = 20
	maxMetadataKey   = 64
	maxMetadataValue = 500
)

// Create validates r field by field and stores the session. A *FieldError
// names the first field at fault; nothing is stored then.
func (s *Service) Create(ctx context.Context, by Creator, r Request) (Created, error) {
	cs := store.ConnectSession{TenantID: by.TenantID, CreatedByKey: by.KeyID, CreatedByLabel: by.Label}
	if err := s.project(ctx, by, r.Project, &cs); err != nil {
		return Created{}, err
	}
	if err := endUser(r.EndUser, &cs); err != nil {
		return Created{}, err
	}
	if r.ConnectionName != "" {
		name := strings.TrimSpace(r.ConnectionName)
		if msg := textProblem(name, 100); msg != "" || name == "" {
			return Created{}, invalid("connection_name", "connection_name must be 1-100 characters of text.")
		}
		cs.ConnectionName = name
	}
	if err := allowedTypes(r, &cs); err != nil {
		return Created{}, err
	}
	if err := scopes(r.Scopes, &cs); err != nil {
		return Created{}, err
	}
	if err := metadata(r.Metadata, &cs); err != nil {
		return Created{}, err
	}
	settings, err := s.Store.ConnectSettings(ctx, by.TenantID)
	if err != nil {
		return Created{}, fmt.Errorf("connect: settings: %w", err)
	}
	if r.ReturnURL != "" {
		if cs.ReturnURL, err = ReturnURL(r.ReturnURL, settings.AllowedReturnOrigins); err != nil {
			return Created{}, err
		}
	}
	ttl := DefaultExpiresIn
	if r.ExpiresIn != nil {
		n := *r.ExpiresIn
		if n < int64(MinExpiresIn/time.Second) || n > int64(MaxExpiresIn/time.Second) {
			return Created{}, invalid("expires_in", "expires_in must be a whole number of seconds from 60 to 86400 (24 hours).")
		}
		ttl = time.Duration(n) * time.Second
	}
	if r.ReconnectConnectionID != "" {
		if err := s.reconnectTarget(ctx, by, r.ReconnectConnectionID, &cs); err != nil {
			return Created{}, err
		}
	}
	token := newToken()
	cs.TokenHash = TokenHash(token)
	cs.ExpiresAt = s.Now().Add(ttl)
	out, err := s.Store.CreateConnectSession(ctx, cs)
	if err != nil {
		return Created{}, fmt.Errorf("connect: create: %w", err)
	}
	s.audit(ctx, by, "connect_session.created", out, map[string]any{"reconnect_connection_id": out.ReconnectConnectionID,
		"return_origin": originOf(out.ReturnURL), "expires_at": out.ExpiresAt.UTC().Format(time.RFC3339)})
	return Created{Session: out, URL: s.URL(token)}, nil
}

func (s *Service) project(ctx context.Context, by Creator, p string, cs *store.ConnectSession) error {
	p = strings.TrimSpace(p)
	if p == "" {
		return invalid("project", "project is required: a project's ID or name.")
	}
	if msg := textProblem(p, 100); msg != "" {
		return invalid("project", "project "+msg)
	}
	var proj store.Project
	var err error
	if uuid.Validate(p) == nil {
		proj, err = s.projectByID(ctx, by.TenantID, p)
	} else {
		proj, err = s.Store.ProjectByName(ctx, by.TenantID, p)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && !by.allows(proj.ID) {
		return &FieldError{Code: "project_not_allowed", Field: "project",
			Message: "This API key may not use that project, or there is no such project."}
	}
	if err != nil {
		return fmt.Errorf("connect: project: %w", err)
	}
	cs.ProjectID = proj.ID
	return nil
}

func (s *Service) projectByID(ctx context.Context, tenantID, id string) (store.Project, error) {
	all, err := s.Store.ListProjects(ctx, tenantID)
	if err != nil {
		return store.Project{}, err
	}
	for _, p := range all {
		if strings.EqualFold(p.ID, id) {
			return p, nil
		}
	}
	return store.Project{}, store.ErrNotFound
}

func endUser(u *EndUserRequest, cs *store.ConnectSession) error {
	if u == nil {
		return invalid("end_user", "end_user is required: an object with the product's own user id.")
	}
	id := strings.TrimSpace(u.ID)
	if id == "" {
		return invalid("end_user.id", "end_user.id is required: your product's identifier of the user.")
	}
	if msg := textProblem(id, 200); msg != "" {
		return invalid("end_user.id", "end_user.id "+msg)
	}
	email := strings.TrimSpace(u.Email)
	if email != "" && (len(email) > 320 || textProblem(email, 320) != "" || strings.ContainsFunc(email, unicode.IsSpace) ||
		!strings.Contains(strings.TrimPrefix(email, "@"), "@")) {
		return invalid("end_user.email", "end_user.email must be an email address such as adele@contoso.com.")
	}
	name := strings.TrimSpace(u.DisplayName)
	if msg := textProblem(name, 200); msg != "" {
		return invalid("end_user.display_name", "end_user.display_name "+msg)
	}
	cs.EndUser = store.EndUser{ID: id, Email: email, DisplayName: name}
	return nil
}

// textProblem says what is wrong with a text field, or "".
func textProblem(s string, max int) string {
	switch {
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "must be plain text, without control characters."
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("must be at most %d characters.", max)
	}
	return ""
}

func allowedTypes(r Request, cs *store.ConnectSession) error {
	for _, a := range r.AllowedAccountTypes {
		if !connections.AccountType(a).Valid() {
			return invalid("allowed_account_types", "allowed_account_types may hold common, tenant, consumers and organizations only.")
		}
		if !slices.Contains(cs.AllowedAccountTypes, a) {
			cs.AllowedAccountTypes = append(cs.AllowedAccountTypes, a)
		}
	}
	for _, a := range r.AllowedAuthTypes {
		if a != string(connections.AuthCode) && a != string(connections.AuthClientCredentials) {
			return invalid("allowed_auth_types", "allowed_auth_types may hold authorization_code and client_credentials only.")
		}
		if !slices.Contains(cs.AllowedAuthTypes, a) {
			cs.AllowedAuthTypes = append(cs.AllowedAuthTypes, a)
		}
	}
	// Client credentials exist only for one tenant: allowing only them and
	// no tenant-specific account type leaves the page with nothing to offer.
	if len(cs.AllowedAuthTypes) == 1 && cs.AllowedAuthTypes[0] == string(connections.AuthClientCredentials) &&
		len(cs.AllowedAccountTypes) > 0 && !slices.Contains(cs.AllowedAccountTypes, string(connections.AccountTenant)) {
		return invalid("allowed_account_types", "client_credentials works only with the tenant account type: allow tenant too.")
	}
	return nil
}

func scopes(in []string, cs *store.ConnectSession) error {
	for _, sc := range in {
		c := connections.CanonicalScope(strings.TrimSpace(sc))
		if c == "" {
			return invalid("scopes", "scopes may hold the delegated permissions the New connection form offers (e.g. Mail.Read, Mail.Send).")
		}
		if !slices.Contains(cs.Scopes, c) {
			cs.Scopes = append(cs.Scopes, c)
		}
	}
	return nil
}

func metadata(m map[string]string, cs *store.ConnectSession) error {
	if len(m) > maxMetadataKeys {
		return invalid("metadata", fmt.Sprintf("metadata may hold at most %d entries.", maxMetadataKeys))
	}
	for k, v := range m {
		if k == "" || textProblem(k, maxMetadataKey) != "" {
			return invalid("metadata", fmt.Sprintf("metadata keys must be 1-%d characters of text.", maxMetadataKey))
		}
		if textProblem(v, maxMetadataValue) != "" {
			return invalid("metadata", fmt.Sprintf("metadata values must be text of at most %d characters.", maxMetadataValue))
		}
	}
	cs.Metadata = m
	return nil
}

// ReturnURL checks a return_url against the tenant's allowed origins: an
// absolute http(s) URL without credentials or fragment, whose origin is
// one of them exactly (scheme, host and port).
func ReturnURL(raw string, allowed []string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Fragment != "" || len(raw) > 2000 {
		return "", invalid("return_url", "return_url must be an absolute http(s) URL without user info or fragment.")
	}
	if !slices.Contains(allowed, originOf(raw)) {
		return "", invalid("return_url", "return_url's origin is not one of the tenant's allowed return origins.")
	}
	return raw, nil
}

// originOf is scheme://host[:port] of a URL, lower-case, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// NormalizeOrigin reads an allowed return origin as a tenant admin types it.
func NormalizeOrigin(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}

func (s *Service) reconnectTarget(ctx context.Context, by Creator, id string, cs *store.ConnectSession) error {
	const field = "reconnect_connection_id"
	if uuid.Validate(id) != nil || len(id) != 36 {
		return invalid(field, "reconnect_connection_id must be a connection ID.")
	}
	c, err := s.Store.Connection(ctx, by.TenantID, strings.ToLower(id))
	if errors.Is(err, store.ErrNotFound) || err == nil && !by.allows(c.ProjectID) {
		return invalid(field, "There is no such connection for this API key.")
	}
	if err != nil {
		return fmt.Errorf("connect: reconnect target: %w", err)
	}
	switch {
	case c.ProjectID != cs.ProjectID:
		return invalid(field, "The connection is in another project than the session's.")
	case !by.Admin && c.EndUser.ID != cs.EndUser.ID:
		// A token key acts for its product's users one at a time: it may send
		// a user a link for that user's own connection only.
		return invalid(field, "The connection belongs to another end user; only an admin key may reconnect it for this one.")
	case connections.AuthType(c.AuthType) != connections.AuthCode:
		return invalid(field, "The connection uses client credentials, which a connect link cannot sign in again.")
	}
	cs.ReconnectConnectionID = c.ID
	return nil
}

func (s *Service) audit(ctx context.Context, by Creator, action string, cs store.ConnectSession, details map[string]any) {
	e := store.AuditEvent{TenantID: by.TenantID, ActorType: "api_key", ActorID: by.KeyID, ActorLabel: by.Label,
		Action: action, ConnectionID: cs.ReconnectConnectionID, RequestID: by.RequestID,
		Details: map[string]any{"connect_session_id": cs.ID, "end_user_id": cs.EndUser.ID, "project_id": cs.ProjectID}}
	if by.KeyID == "" {
		e.ActorType, e.ActorID = "user", by.UserID
	}
	for k, v := range details {
		e.Details[k] = v
	}
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.Logger.ErrorContext(ctx, "audit event not written", "action", action, "err", err)
	}
}
