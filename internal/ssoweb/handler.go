// Package ssoweb is the browser side of single sign-on with Microsoft: the
// "Sign in with Microsoft" button's flow and its callback, the
// re-authentication round trip for SSO sessions, and the tenant admin's
// Single sign-on settings page. It parses and renders; internal/sso decides.
package ssoweb

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/sso"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// Pages are the templates the handler renders.
var Pages = []string{"sso_settings.html", "sso_error.html", "signin_handoff.html"}

// CallbackPath is the redirect URI to register on the app registration
// (under BROKER_PUBLIC_URL), next to /oauth/callback.
const CallbackPath = "/login/microsoft/callback"

// flowCookie holds one round trip's state (sso.Flow), sealed.
const flowCookie = "broker_sso_flow"

// Handler serves the SSO routes.
type Handler struct {
	Service     *sso.Service
	RedirectURI string // BROKER_PUBLIC_URL + CallbackPath, shown to admins to register
	ui          *web.UI
}

// Mount registers the routes; it has the shape of web.Deps.Mount.
func (h *Handler) Mount(r chi.Router, ui *web.UI) {
	h.ui = ui
	ui.Need(Pages...)
	r.Post("/login/microsoft", h.startLogin)
	r.Get(CallbackPath, h.callback)
	r.Group(func(r chi.Router) {
		r.Use(web.RequireSignIn)
		r.Get("/login/microsoft/reauth", h.startReauth)
		r.Get("/settings/sso", h.settings)
		r.Post("/settings/sso/link", h.startLink)
		r.Post("/settings/sso/links/{tid}/delete", h.deleteLink)
		r.Post("/settings/sso/require", h.setRequire)
		r.Post("/settings/sso/rules", h.addRule)
		r.Post("/settings/sso/rules/{id}/delete", h.deleteRule)
	})
}

func actor(r *http.Request) sso.Actor {
	v := web.Viewer(r.Context())
	if v == nil || v.IsOperator {
		return sso.Actor{}
	}
	return sso.Actor{TenantID: v.TenantID, UserID: v.ID, Email: v.Email, Role: v.Role, SessionHash: v.Session.IDHash}
}

// begin stores the flow in this browser and sends it on to Microsoft with
// the hand-off page connections use: a form post's redirect chain is held
// to CSP form-action 'self' until a page renders (internal/connweb,
// handoff.go), and Microsoft redirects on by itself (federated IdPs).
func (h *Handler) begin(w http.ResponseWriter, r *http.Request, f sso.Flow, url string) {
	if err := h.ui.SetSealed(w, flowCookie, f, sso.FlowTTL); err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	h.ui.Render(w, r, http.StatusOK, "signin_handoff.html", web.Page{Title: "Continuing to Microsoft", Data: handoffView{URL: url}})
}

// handoffView is signin_handoff.html's data.
type handoffView struct{ URL string }

// startLogin is the "Sign in with Microsoft" button on /login.
func (h *Handler) startLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	_ = r.ParseForm()
	f, url := h.Service.Begin(sso.KindLogin, sso.Actor{}, web.SafeNext(r.PostForm.Get("next")), sso.Authority, "")
	h.begin(w, r, f, url)
}

// startReauth sends an SSO session's person to Microsoft to enter their
// credentials again (prompt=login, max_age=0) before a destructive action;
// next is the page that asked. It changes nothing here but a flow cookie.
func (h *Handler) startReauth(w http.ResponseWriter, r *http.Request) {
	v := web.Viewer(r.Context())
	if v.IsOperator || v.Session.AuthMethod != store.AuthMicrosoft {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "This session signed in with a password: confirm with your password instead.")
		return
	}
	tid, _, err := h.Service.Store.SSOIdentityOf(r.Context(), v.TenantID, v.ID)
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	f, url := h.Service.Begin(sso.KindReauth, actor(r), web.SafeNext(r.URL.Query().Get("next")), tid, v.Email)
	h.begin(w, r, f, url)
}

// callback is where Microsoft sends the browser back. It never shows the
// code, sends no Referer onward and is never cached.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	var f sso.Flow
	if !h.ui.ReadSealed(r, flowCookie, &f) {
		f = sso.Flow{} // Finish refuses a flow without state
	}
	h.ui.ClearSealed(w, flowCookie) // one use, whatever happens
	q := r.URL.Query()
	res, err := h.Service.Finish(r.Context(), f, actor(r), sso.Callback{State: q.Get("state"), Code: q.Get("code"),
		Error: q.Get("error"), ErrorDescription: q.Get("error_description")})
	var prob *sso.Problem
	if errors.As(err, &prob) {
		h.ui.Log(r).Info("sso callback refused", "kind", f.Kind, "title", prob.Title, "err", err)
		h.ui.Render(w, r, prob.Status, "sso_error.html", web.Page{Title: prob.Title, Data: errorView{P: prob, Kind: f.Kind}})
		return
	}
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	ctx := r.Context()
	switch res.Kind {
	case sso.KindLogin:
		if err := h.ui.StartSession(w, r, web.Principal{TenantID: res.TenantID, UserID: res.UserID, Method: store.AuthMicrosoft}); err != nil {
			h.ui.Fail(w, r, err)
			return
		}
		ev := store.AuditEvent{TenantID: res.TenantID, ActorType: "user", ActorID: res.UserID, ActorLabel: res.Email,
			Action: "user.signed_in", RequestID: web.RequestID(ctx), Details: map[string]any{"method": "microsoft", "created": res.Created}}
		if err := h.Service.Store.AppendAudit(ctx, ev); err != nil {
			h.ui.Log(r).Error("append audit event", "action", ev.Action, "err", err)
		}
		if res.Created {
			h.ui.SetFlash(w, "info", "Welcome. Your broker account was created from your Microsoft account.")
		}
		web.SeeOther(w, r, res.Next)
	case sso.KindLink:
		h.ui.SetFlash(w, "success", "Linked Microsoft Entra tenant "+res.Entra+". Its people can now sign in with Microsoft.")
		web.SeeOther(w, r, "/settings/sso")
	case sso.KindReauth:
		if err := h.ui.Sessions().MarkReauthenticated(ctx, web.Viewer(ctx).Session); err != nil {
			h.ui.Fail(w, r, err)
			return
		}
		h.ui.SetFlash(w, "success", fmt.Sprintf("Confirmed with Microsoft. You will not be asked again for %d minutes.",
			int(web.ReauthWindow/time.Minute)))
		web.SeeOther(w, r, res.Next)
	}
}

// errorView is sso_error.html's data.
type errorView struct {
	P    *sso.Problem
	Kind string
}

// Again is where "Try again" goes.
func (v errorView) Again() string {
	if v.Kind == sso.KindLink {
		return "/settings/sso"
	}
	return "/login"
}
