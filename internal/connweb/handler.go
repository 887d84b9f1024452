// Package connweb is the browser side of setting up a connection: the New
// connection page, Sign in with Microsoft and its /oauth/callback, client
// credentials, admin consent, reconnect, and a connection's page. It parses
// and renders; internal/connections decides.
package connweb

import (
	"crypto/sha256"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// Handler serves the connection setup pages.
type Handler struct {
	Service     *connections.Service
	RedirectURL string // the exact redirect URI to register in Azure
	Logger      *slog.Logger
	Admin       AdminSections // optional: the admin sections of a connection's page
	// Connect, optional, finishes at the callback the sign-ins that connect
	// pages started (connectweb.Handler); false lets this handler answer.
	Connect interface {
		Callback(w http.ResponseWriter, r *http.Request, p connections.CallbackParams) bool
	}

	ui *web.UI
}

// Options are what New needs.
type Options struct {
	Store       *store.Store
	Provider    oauth.Provider
	Graph       oauth.Graph
	RedirectURL string // config.RedirectURL(): BROKER_PUBLIC_URL + /oauth/callback
	Logger      *slog.Logger
	Now         func() time.Time
	Admin       AdminSections // optional
	// Apps gives the clients of tenants' own app registrations
	// (internal/tenantapps); nil: every connection uses the broker's app.
	Apps connections.AppProviders
}

// New builds the handler and its service.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	svc := connections.New(o.Store, o.Provider, o.Graph, o.Logger, o.Now)
	svc.Apps = o.Apps
	return &Handler{Service: svc, RedirectURL: o.RedirectURL, Logger: o.Logger, Admin: o.Admin}
}

// Pages are the templates the handler renders.
var Pages = []string{"connection_new.html", "connection_show.html", "callback_error.html", "callback_consent.html",
	"signin_handoff.html"}

// Mount registers the routes; it has the shape of web.Deps.Mount. The
// callback is outside RequireSignIn: it answers a browser whose session has
// ended, and an administrator back from a forwarded consent link, itself.
func (h *Handler) Mount(r chi.Router, ui *web.UI) {
	h.ui = ui
	ui.Need(Pages...)
	r.Get("/oauth/callback", h.callback)
	r.Group(func(r chi.Router) {
		r.Use(web.RequireSignIn)
		r.Get("/connections/new", h.newForm)
		r.Post("/connections", h.create)
		r.Get("/connections/{id}", h.show)
		r.Post("/connections/{id}/reconnect", h.reconnect)
		r.Post("/connections/{id}/admin-consent", h.adminConsent)
	})
}

// actor is the signed-in tenant user, or false for anyone else (anonymous
// browsers and platform operators, who own no connections).
func actor(r *http.Request) (connections.Actor, bool) {
	v := web.Viewer(r.Context())
	if v == nil || v.IsOperator || v.TenantID == "" {
		return connections.Actor{}, false
	}
	return connections.Actor{TenantID: v.TenantID, UserID: v.ID, Email: v.Email, Admin: v.IsAdmin(),
		ProjectIDs: v.ProjectIDs, SessionHash: flowSessionHash(v.Session.IDHash), RequestID: web.RequestID(r.Context())}, true
}

// flowSessionHash binds flows to the browser session without storing the
// session's own lookup key a second time.
func flowSessionHash(sessionIDHash []byte) []byte {
	if len(sessionIDHash) == 0 {
		return nil
	}
	h := sha256.Sum256(append([]byte("broker oauth flow session\x00"), sessionIDHash...))
	return h[:]
}

// mustActor answers operators with 403; RequireSignIn already handled
// anonymous browsers.
func (h *Handler) mustActor(w http.ResponseWriter, r *http.Request) (connections.Actor, bool) {
	a, ok := actor(r)
	if !ok {
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Connections belong to a tenant. Sign in with a tenant account to set one up.")
	}
	return a, ok
}
