// Package adminweb is the browser side of reviewing connections: the
// connections list, the confirmation pages and POSTs of the admin actions,
// the audit log (and its CSV export), API keys, the approval setting, and
// the admin sections of a connection's page (Sections and the
// "admin_connection" template). It parses and renders; internal/admin decides.
package adminweb

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// Pages are the templates the handler renders.
var Pages = []string{"admin_connections.html", "admin_confirm.html", "admin_audit.html", "admin_api_keys.html",
	"admin_api_key_created.html", "admin_revoke.html"}

// Handler serves the admin pages.
type Handler struct {
	Service  *admin.Service
	Webhooks *webhooks.Service // nil: no webhook pages (webhooks.go)
	ui       *web.UI
}

// New returns a Handler for the service.
func New(svc *admin.Service) *Handler { return &Handler{Service: svc} }

// Mount registers the routes; it has the shape of web.Deps.Mount. The
// connection page itself (/connections/{id}) belongs to internal/connweb,
// which includes the "admin_connection" template with Sections' data.
func (h *Handler) Mount(r chi.Router, ui *web.UI) {
	h.ui = ui
	ui.Need(Pages...)
	r.Use(web.RequireSignIn)
	r.Get("/connections", h.list)
	r.Get("/connections/{id}/confirm/{action}", h.confirm)
	for _, a := range admin.Actions {
		r.Post("/connections/{id}/"+string(a), h.act(a))
	}
	r.Post("/settings/approval", h.setApproval)
	r.Get("/audit", h.audit)
	r.Get("/api-keys", h.keys)
	r.Post("/api-keys", h.createKey)
	r.Get("/api-keys/{id}/revoke", h.confirmRevoke)
	r.Post("/api-keys/{id}/revoke", h.revokeKey)
	h.mountWebhooks(r)
}

// viewerOf is the request's viewer as the admin service sees it; false for
// an anonymous request (RequireSignIn has answered those already).
func viewerOf(r *http.Request) (admin.Viewer, *web.ViewerInfo, bool) {
	v := web.Viewer(r.Context())
	if v == nil {
		return admin.Viewer{}, nil, false
	}
	av := admin.Viewer{Kind: admin.KindUser, ID: v.ID, Label: v.Email, TenantID: v.TenantID, Admin: v.IsAdmin(),
		ProjectIDs: v.ProjectIDs, AllProjects: v.IsAdmin(), RequestID: web.RequestID(r.Context())}
	if v.IsOperator {
		av = admin.Viewer{Kind: admin.KindOperator, ID: v.ID, Label: v.Email, RequestID: av.RequestID}
	}
	return av, v, true
}

// fail answers with an admin refusal's status and message, or hands
// anything else to the UI's generic failure (logged, 500).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := admin.AsError(err); ok {
		status := map[admin.Code]int{admin.CodeNotFound: http.StatusNotFound, admin.CodeForbidden: http.StatusForbidden,
			admin.CodeConflict: http.StatusConflict, admin.CodeInvalid: http.StatusBadRequest,
			admin.CodeUpstream: http.StatusBadGateway}[e.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if e.Err != nil {
			h.ui.Log(r).Info("admin request refused", "code", e.Code, "err", e.Err)
		}
		h.ui.ErrorPage(w, r, status, e.Message)
		return
	}
	h.ui.Fail(w, r, err)
}

// parseForm reads a small form body; false after answering a bad one.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Please try again.")
		return false
	}
	return true
}

// connectionHref is a connection's page.
func connectionHref(id string) string { return "/connections/" + url.PathEscape(id) }

var errNoViewer = errors.New("adminweb: no viewer")
