package connect

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/brokerhq/broker/internal/store"
)

var colorRE = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// CheckSettings normalizes a tenant's connect settings and says what is
// wrong with them, every problem at once: a display name of text, an
// http(s) logo URL (https unless localhost), a #rrggbb colour, and return
// origins that are origins (scheme://host[:port], no path).
func CheckSettings(cs *store.ConnectSettings) []string {
	var problems []string
	cs.DisplayName = strings.TrimSpace(cs.DisplayName)
	if msg := textProblem(cs.DisplayName, 100); msg != "" {
		problems = append(problems, "display name "+msg)
	}
	cs.LogoURL = strings.TrimSpace(cs.LogoURL)
	if cs.LogoURL != "" {
		u, err := url.Parse(cs.LogoURL)
		local := err == nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
		if err != nil || u.Host == "" || u.User != nil || len(cs.LogoURL) > 2000 ||
			!(u.Scheme == "https" || u.Scheme == "http" && local) {
			problems = append(problems, "logo URL must be an https URL of an image")
		}
	}
	cs.BrandColor = strings.ToLower(strings.TrimSpace(cs.BrandColor))
	if cs.BrandColor != "" && !colorRE.MatchString(cs.BrandColor) {
		problems = append(problems, "colour must be #rrggbb, e.g. #0f7b6c")
	}
	var origins []string
	for _, o := range cs.AllowedReturnOrigins {
		n, ok := NormalizeOrigin(o)
		if !ok {
			problems = append(problems, fmt.Sprintf("return origin %q must be scheme://host[:port], without a path", o))
			continue
		}
		if !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	cs.AllowedReturnOrigins = origins
	return problems
}

// PutSettings checks and stores a tenant's connect settings.
func (s *Service) PutSettings(ctx context.Context, cs store.ConnectSettings) (store.ConnectSettings, []string, error) {
	if problems := CheckSettings(&cs); len(problems) > 0 {
		return cs, problems, nil
	}
	if err := s.Store.PutConnectSettings(ctx, cs); err != nil {
		return cs, nil, fmt.Errorf("connect: settings: %w", err)
	}
	return cs, nil, nil
}
