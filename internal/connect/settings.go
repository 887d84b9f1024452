package connect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/brokerhq/broker/internal/store"
)

var colorRE = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// The settings' fields, as FieldError.Field names them: the CLI's flags
// and the settings page's form fields both map onto these.
const (
	FieldDisplayName   = "display_name"
	FieldLogoURL       = "logo_url"
	FieldColor         = "color"
	FieldReturnOrigins = "allowed_return_origins"
)

// ErrNotAdmin is a settings change by someone who is not a tenant admin.
var ErrNotAdmin = errors.New("connect: only a tenant administrator may change connect settings")

// CheckSettings normalizes a tenant's connect settings and says what is
// wrong with them, every problem at once, each naming its field: a display
// name of text, an http(s) logo URL (https unless localhost), a #rrggbb
// colour, and return origins that are origins (scheme://host[:port], no
// path). One validation for the CLI and the tenant admin's page.
func CheckSettings(cs *store.ConnectSettings) []*FieldError {
	var problems []*FieldError
	cs.DisplayName = strings.TrimSpace(cs.DisplayName)
	if msg := textProblem(cs.DisplayName, 100); msg != "" {
		problems = append(problems, invalid(FieldDisplayName, "Display name "+msg))
	}
	cs.LogoURL = strings.TrimSpace(cs.LogoURL)
	if cs.LogoURL != "" {
		u, err := url.Parse(cs.LogoURL)
		local := err == nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
		if err != nil || u.Host == "" || u.User != nil || len(cs.LogoURL) > 2000 ||
			!(u.Scheme == "https" || u.Scheme == "http" && local) {
			problems = append(problems, invalid(FieldLogoURL, "Logo URL must be an https URL of an image."))
		}
	}
	cs.BrandColor = strings.ToLower(strings.TrimSpace(cs.BrandColor))
	if cs.BrandColor != "" && !colorRE.MatchString(cs.BrandColor) {
		problems = append(problems, invalid(FieldColor, "Colour must be #rrggbb, e.g. #0f7b6c."))
	}
	var origins []string
	for _, o := range cs.AllowedReturnOrigins {
		if strings.TrimSpace(o) == "" {
			continue
		}
		n, ok := NormalizeOrigin(o)
		if !ok {
			problems = append(problems, invalid(FieldReturnOrigins,
				fmt.Sprintf("Return origin %q must be scheme://host[:port], without a path.", o)))
			continue
		}
		if !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	cs.AllowedReturnOrigins = origins
	return problems
}

// PutSettings checks and stores a tenant's connect settings; with
// problems, nothing is stored.
func (s *Service) PutSettings(ctx context.Context, cs store.ConnectSettings) (store.ConnectSettings, []*FieldError, error) {
	if problems := CheckSettings(&cs); len(problems) > 0 {
		return cs, problems, nil
	}
	if err := s.Store.PutConnectSettings(ctx, cs); err != nil {
		return cs, nil, fmt.Errorf("connect: settings: %w", err)
	}
	return cs, nil, nil
}

// SaveSettings is a tenant admin changing the tenant's connect settings
// (by.Admin, by.UserID): checked as PutSettings does, stored, and audited
// as tenant.connect_settings_changed with the new values (none is secret).
func (s *Service) SaveSettings(ctx context.Context, by Creator, cs store.ConnectSettings) (store.ConnectSettings, []*FieldError, error) {
	if !by.Admin || by.TenantID == "" || by.UserID == "" {
		return cs, nil, ErrNotAdmin
	}
	cs.TenantID = by.TenantID
	out, problems, err := s.PutSettings(ctx, cs)
	if err != nil || len(problems) > 0 {
		return out, problems, err
	}
	e := store.AuditEvent{TenantID: by.TenantID, ActorType: "user", ActorID: by.UserID, ActorLabel: by.Label,
		Action: "tenant.connect_settings_changed", RequestID: by.RequestID,
		Details: map[string]any{"display_name": out.DisplayName, "logo_url": out.LogoURL, "color": out.BrandColor,
			"allowed_return_origins": out.AllowedReturnOrigins}}
	if err := s.Store.AppendAudit(ctx, e); err != nil {
		s.Logger.ErrorContext(ctx, "audit event not written", "action", e.Action, "request_id", by.RequestID, "err", err)
	}
	return out, nil, nil
}
