// Package connectweb is the hosted connect page: what a product's end user,
// who has no broker login, sees at a connect link's URL. It has a minimal
// layout of its own (no navigation, no other connection, no admin section),
// the tenant's name, logo and colour, and the New connection form limited
// to what the session allows. It parses and renders; internal/connect and
// internal/connections decide.
package connectweb

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/web"
)

// Handler serves /connect/….
type Handler struct {
	Service *connect.Service
	ui      *web.UI
}

// New returns the handler.
func New(svc *connect.Service) *Handler { return &Handler{Service: svc} }

// Pages are the templates the handler renders.
var Pages = []string{"connect_form.html", "connect_reconnect.html", "connect_status.html", "connect_link_created.html",
	"connect_settings.html"}

// Mount registers the routes, outside RequireSignIn: the person has no
// broker login; the link's token and the browser's cookie are the
// credentials. Posts pass the router's cross-origin check like every form.
func (h *Handler) Mount(r chi.Router, ui *web.UI) {
	h.ui = ui
	ui.Need(Pages...)
	r.Get("/connect/brand/{tenant}.css", h.brandCSS)
	r.Get("/connect/{token}", h.open)
	r.Post("/connect/{token}", h.submit)
	r.Post("/connect/{token}/reconnect", h.reconnect)
	r.With(web.RequireSignIn).Post("/connections/{id}/connect-link", h.reconnectLink)
	r.With(web.RequireSignIn).Get(SettingsPath, h.settings)
	r.With(web.RequireSignIn).Post(SettingsPath, h.saveSettings)
}

// page opens the session of the URL's token for this browser, binding it
// on first opening. It answers and returns false when there is nothing to
// act on.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) (connect.Page, bool) {
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL is the credential
	var b connect.Binding
	h.ui.ConnectCookie(r, &b)
	p, bind, err := h.Service.Open(r.Context(), chi.URLParam(r, "token"), b)
	if errors.Is(err, connect.ErrNotFound) {
		h.status(w, r, http.StatusNotFound, statusView{Kind: "unknown"})
		return p, false
	}
	if err != nil {
		h.ui.Fail(w, r, err)
		return p, false
	}
	if bind != nil {
		if err := h.ui.SetConnectCookie(w, *bind); err != nil {
			h.ui.Fail(w, r, err)
			return p, false
		}
	}
	switch p.State {
	case connect.StateForm, connect.StateReconnect:
		return p, true
	case connect.StateCompleted, connect.StateFailed:
		h.result(w, r, p, string(p.State), p.Session.ConnectionID, p.Session.FailureReason)
	default:
		h.status(w, r, statusCode(p.State), statusView{Kind: string(p.State), Brand: brandOf(p)})
	}
	return p, false
}

func statusCode(s connect.State) int {
	switch s {
	case connect.StateExpired, connect.StateRevoked:
		return http.StatusGone
	case connect.StateOtherBrowser:
		return http.StatusForbidden
	}
	return http.StatusOK
}

func (h *Handler) open(w http.ResponseWriter, r *http.Request) {
	p, ok := h.page(w, r)
	if !ok {
		return
	}
	if p.State == connect.StateReconnect {
		h.render(w, r, http.StatusOK, "connect_reconnect.html", p, reconnectView{Brand: brandOf(p), Conn: p.Reconnect,
			Action: "/connect/" + chi.URLParam(r, "token") + "/reconnect"})
		return
	}
	h.renderForm(w, r, http.StatusOK, p, connect.NewForm(p.Session))
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	p, ok := h.page(w, r)
	if !ok {
		return
	}
	if p.State != connect.StateForm {
		h.ui.ErrorPage(w, r, http.StatusConflict, "This link signs an existing connection in again; it makes no new one.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return
	}
	pf := r.PostForm
	f := &connections.Form{Name: pf.Get("name"), AccountType: connections.AccountType(pf.Get("account_type")),
		MSTenant: pf.Get("ms_tenant"), AuthType: connections.AuthType(pf.Get("auth_type")),
		UserPrincipal: pf.Get("user_principal"), ClientID: pf.Get("client_id"), ClientSecret: pf.Get("client_secret"),
		SecretExpires: pf.Get("secret_expires")}
	out, err := h.Service.Submit(r.Context(), p, f, web.RequestID(r.Context()))
	switch {
	case errors.Is(err, connections.ErrInvalid):
		h.renderForm(w, r, http.StatusUnprocessableEntity, p, f)
	case err != nil:
		h.ui.Fail(w, r, err)
	case out.RedirectURL != "":
		h.toMicrosoft(w, r, out.RedirectURL)
	default:
		h.result(w, r, p, "completed", out.Connection.ID, "")
	}
}

func (h *Handler) reconnect(w http.ResponseWriter, r *http.Request) {
	p, ok := h.page(w, r)
	if !ok {
		return
	}
	if p.State != connect.StateReconnect {
		h.ui.ErrorPage(w, r, http.StatusConflict, "This link makes a new connection; there is nothing to reconnect.")
		return
	}
	to, err := h.Service.Reconnect(r.Context(), p, web.RequestID(r.Context()))
	if err != nil {
		if errors.Is(err, connections.ErrNotFound) {
			h.status(w, r, http.StatusNotFound, statusView{Kind: "gone", Brand: brandOf(p)})
			return
		}
		h.ui.Fail(w, r, err)
		return
	}
	h.toMicrosoft(w, r, to)
}

// toMicrosoft goes on through the broker's own hand-off page, for the
// reason connweb/handoff.go gives (form-action 'self' and redirects).
func (h *Handler) toMicrosoft(w http.ResponseWriter, r *http.Request, to string) {
	h.ui.Render(w, r, http.StatusOK, "signin_handoff.html", web.Page{Title: "Continuing to Microsoft",
		Data: struct{ URL string }{to}})
}

// render writes a connect page with the CSP widened by exactly the logo's
// origin for images (a tenant's logo lives on its own site); everything
// else, frame-ancestors 'none' included, stays as the router set it.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, p connect.Page, data any) {
	allowLogo(w, p.Settings.LogoURL)
	h.ui.Render(w, r, status, page, web.Page{Title: "Connect Outlook · " + p.TenantName, Data: data})
}

func allowLogo(w http.ResponseWriter, logoURL string) {
	if origin := logoOrigin(logoURL); origin != "" {
		csp := w.Header().Get("Content-Security-Policy")
		w.Header().Set("Content-Security-Policy", strings.Replace(csp, "img-src 'self' data:", "img-src 'self' data: "+origin, 1))
	}
}

func logoOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
