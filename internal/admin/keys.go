package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
)

// KeyUsageWindow is how far back the API keys page counts each key's tokens.
const KeyUsageWindow = 7 * 24 * time.Hour

// KeyList is the API keys page's data.
type KeyList struct {
	Keys     []store.APIKey
	Usage    map[string]store.KeyUsage // key ID → tokens fetched within KeyUsageWindow
	Projects []store.Project
}

func mayManageKeys(v Viewer) *Error {
	if v.Kind != KindUser || !v.TenantAdmin() {
		return forbidden("API keys are managed by the tenant's administrators.")
	}
	return nil
}

// APIKeys lists the tenant's API keys with their recent use.
func (s *Service) APIKeys(ctx context.Context, v Viewer) (KeyList, error) {
	var out KeyList
	if e := mayManageKeys(v); e != nil {
		return out, e
	}
	var err error
	if out.Keys, err = s.Store.ListAPIKeys(ctx, v.TenantID); err != nil {
		return out, fmt.Errorf("admin: keys: %w", err)
	}
	if out.Usage, err = s.Store.APIKeyUsage(ctx, v.TenantID, s.Now().Add(-KeyUsageWindow)); err != nil {
		return out, fmt.Errorf("admin: keys: %w", err)
	}
	if out.Projects, err = s.Store.ListProjects(ctx, v.TenantID); err != nil {
		return out, fmt.Errorf("admin: keys: %w", err)
	}
	return out, nil
}

// NewKey is the create form's input.
type NewKey struct {
	Name       string
	ProjectIDs []string // empty: every project
	Admin      bool
	Rate       *float64 // the key's own rate limit (requests/s); nil: the server's default
}

// CreateKey makes a key and returns it, to be shown once: only its hash is kept.
func (s *Service) CreateKey(ctx context.Context, v Viewer, n NewKey) (string, store.APIKey, error) {
	if e := mayManageKeys(v); e != nil {
		return "", store.APIKey{}, e
	}
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" || len(n.Name) > 100 {
		return "", store.APIKey{}, &Error{Code: CodeInvalid, Field: "name", Message: "Name the key after what uses it, in 1 to 100 characters."}
	}
	// One live key per name: it tells keys apart on the page and in the
	// audit log, and a reloaded "key created" page (a re-sent form) gets an
	// answer instead of quietly making a second key.
	existing, err := s.Store.ListAPIKeys(ctx, v.TenantID)
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("admin: create key: %w", err)
	}
	for _, k := range existing {
		if k.RevokedAt == nil && strings.EqualFold(k.Name, n.Name) {
			return "", store.APIKey{}, &Error{Code: CodeInvalid, Field: "name",
				Message: "A key with this name already exists (" + k.Prefix + "…). Choose another name, or revoke that key first."}
		}
	}
	if apikeys.CheckLimit(n.Rate, nil) != nil {
		return "", store.APIKey{}, &Error{Code: CodeInvalid, Field: "rate",
			Message: "Give a rate of more than 0 and at most 1,000,000 requests a second, or leave it empty for the server's default."}
	}
	projects, err := s.Store.ListProjects(ctx, v.TenantID)
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("admin: create key: %w", err)
	}
	var names []string
	for _, id := range n.ProjectIDs {
		i := slices.IndexFunc(projects, func(p store.Project) bool { return p.ID == id })
		if i < 0 {
			return "", store.APIKey{}, &Error{Code: CodeInvalid, Field: "projects", Message: "Choose projects from the list."}
		}
		names = append(names, projects[i].Name)
	}
	plain, k, err := apikeys.Create(ctx, s.Store, apikeys.NewKey{TenantID: v.TenantID, Name: n.Name,
		ProjectIDs: n.ProjectIDs, Admin: n.Admin, CreatedBy: v.ID, Rate: n.Rate})
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("admin: create key: %w", err)
	}
	// The record names the key by ID and prefix, never the key.
	s.audit(ctx, v, v.TenantID, "api_key.created", "", "", map[string]any{"api_key_id": k.ID, "prefix": k.Prefix,
		"name": k.Name, "projects": names, "scope": k.Scope, "rate": k.Rate})
	return plain, k, nil
}

// RevokeKey revokes a key of the viewer's tenant, at once on this replica.
func (s *Service) RevokeKey(ctx context.Context, v Viewer, id, reason string) (store.APIKey, error) {
	if e := mayManageKeys(v); e != nil {
		return store.APIKey{}, e
	}
	keys, err := s.Store.ListAPIKeys(ctx, v.TenantID)
	if err != nil {
		return store.APIKey{}, fmt.Errorf("admin: revoke key: %w", err)
	}
	i := slices.IndexFunc(keys, func(k store.APIKey) bool { return k.ID == id })
	if i < 0 {
		return store.APIKey{}, &Error{Code: CodeNotFound, Message: "There is no such API key."}
	}
	k := keys[i]
	if k.RevokedAt != nil {
		return k, conflict("This key was already revoked.")
	}
	err = s.Store.RevokeAPIKey(ctx, v.TenantID, id, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return store.APIKey{}, &Error{Code: CodeNotFound, Message: "There is no such API key."}
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("admin: revoke key: %w", err)
	}
	if s.Keys != nil {
		s.Keys.Drop(id)
	}
	s.audit(ctx, v, v.TenantID, "api_key.revoked", "", strings.TrimSpace(reason), map[string]any{"api_key_id": k.ID,
		"prefix": k.Prefix, "name": k.Name})
	return k, nil
}
