package app

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/adminapi"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/api"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/connectweb"
	"github.com/brokerhq/broker/internal/connweb"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/tenantappsweb"
	"github.com/brokerhq/broker/internal/web"
)

// mountAreas adds the connection pages, the OAuth callback and the API.
func (a *App) mountAreas(ctx context.Context, deps *web.Deps, o Options) error {
	a.admin = admin.New(a.Store, a.Tokens, a.Guarded, a.Provider, a.Keys, o.Logger, o.Now)
	adminPages := adminweb.New(a.admin)
	adminPages.Webhooks = a.Webhooks
	conns := connweb.New(connweb.Options{Store: a.Store, Provider: a.Guarded, Graph: a.Provider,
		RedirectURL: o.Config.RedirectURL(), Logger: o.Logger, Now: o.Now, Admin: adminPages, Apps: a.Apps})
	// Connect links use the same connections service as the New connection
	// page: one form, one validation, one sign-in and callback.
	a.connect = connect.New(a.Store, conns.Service, o.Config.PublicURL, o.Logger, o.Now)
	connectPages := connectweb.New(a.connect)
	conns.Connect = connectPages
	a.appsService = &tenantapps.Service{Store: a.Store, Registry: a.Apps, Verifier: a.Provider,
		RedirectURL: o.Config.RedirectURL(), Logger: o.Logger, Now: o.Now}
	apps := tenantappsweb.New(a.appsService)
	deps.Mount = append(deps.Mount, conns.Mount, adminPages.Mount, a.ssoArea(o).Mount, connectPages.Mount, apps.Mount)
	deps.Home = adminPages.Home
	return nil
}

// A key may create a connect session a second on average, 20 at once: a
// product sends links to people one at a time, not in bulk.
const (
	connectSessionRate  = 1.0
	connectSessionBurst = 20
)

const demoKeyName = "demo (printed at start-up)"

// seedDemoAPIKey makes a fresh demo API key: keys are shown once, so a
// restart makes a new one, and revokes the ones earlier starts printed.
func (a *App) seedDemoAPIKey(ctx context.Context, tenantID string) (string, error) {
	keys, err := a.Store.ListAPIKeys(ctx, tenantID)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.Name == demoKeyName && k.RevokedAt == nil {
			if err := a.Store.RevokeAPIKey(ctx, tenantID, k.ID, time.Now()); err != nil {
				return "", err
			}
		}
	}
	key, _, err := apikeys.Create(ctx, a.Store, apikeys.NewKey{TenantID: tenantID, Name: demoKeyName})
	return key, err
}

// apiRouter serves /api/v1: the token endpoint and the admin JSON mirror.
func (a *App) apiRouter(o Options) http.Handler {
	h := api.New(a.Store, a.Tokens, a.Keys, a.Usage, o.Logger, o.Now)
	h.Graph = a.graph
	h.Connect = a.connect
	h.ConnectLimit = apikeys.NewPerKey(connectSessionRate, connectSessionBurst)
	r := chi.NewRouter()
	r.Route("/api/v1", h.Routes)
	adm := adminapi.New(a.admin, a.Keys, o.Logger)
	adm.Webhooks = a.Webhooks
	adm.Apps = a.appsService
	r.Route("/api/v1/admin", adm.Routes)
	return h.TokenFirst(r) // the hot route without chi's two levels of routing (issue 17)
}
