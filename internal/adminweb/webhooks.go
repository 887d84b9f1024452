package adminweb

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// WebhookPages are the webhook templates.
var WebhookPages = []string{"admin_webhooks.html", "admin_webhook.html", "admin_webhook_secret.html", "admin_webhook_confirm.html"}

// mountWebhooks registers the webhook pages: a tenant admin manages the
// tenant's endpoints, an operator the broker-wide ones.
func (h *Handler) mountWebhooks(r chi.Router) {
	if h.Webhooks == nil {
		return
	}
	h.ui.Need(WebhookPages...)
	r.Get("/webhooks", h.webhooks)
	r.Post("/webhooks", h.createWebhook)
	r.Get("/webhooks/{id}", h.webhook)
	for _, a := range []string{webhookRotate, webhookDelete} { // re-authentication first (webhook_confirm.go)
		r.Get("/webhooks/{id}/"+a, h.confirmWebhook(a))
		r.Post("/webhooks/{id}/"+a, h.doWebhook(a))
	}
	for _, a := range []string{"test", "enable", "disable", "replay"} {
		r.Post("/webhooks/{id}/"+a, h.webhookAction(a))
	}
	r.Post("/webhooks/{id}/deliveries/{delivery}/resend", h.webhookAction("resend"))
}

// webhookOwner is whose endpoints the viewer manages; false after a 403.
func (h *Handler) webhookOwner(w http.ResponseWriter, r *http.Request) (owner string, v admin.Viewer, ok bool) {
	v, _, ok = viewerOf(r)
	if !ok {
		return "", v, false
	}
	switch {
	case v.Operator():
		return "", v, true
	case v.TenantAdmin():
		return v.TenantID, v, true
	}
	h.fail(w, r, &admin.Error{Code: admin.CodeForbidden, Message: "Webhooks are managed by the tenant's administrators."})
	return "", v, false
}

// webhookForm is the create form as submitted.
type webhookForm struct {
	web.Form
	URL, Description string
	EventTypes       []string
	ProjectIDs       []string
}

type webhooksView struct {
	Form       webhookForm
	Endpoints  []endpointRow
	Types      []option
	Projects   []option
	BrokerWide bool
}

type endpointRow struct {
	store.WebhookEndpoint
	Href     string
	Types    string
	Disabled When
	Failing  When
}

// brokerWide are the event types a broker-wide endpoint can receive:
// those of no tenant (operator keys' api_key events, its own disabling).
var brokerWide = map[string]bool{store.EventBrokerHealthChanged: true, store.EventAPIKeyCreated: true,
	store.EventAPIKeyRevoked: true, store.EventWebhookEndpointDisabled: true}

func typesLabel(types []string) string {
	if len(types) == 0 {
		return "Every event"
	}
	return strings.Join(types, ", ")
}

func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request) {
	h.renderWebhooks(w, r, http.StatusOK, webhookForm{})
}

func (h *Handler) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, f webhookForm) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	eps, err := h.Webhooks.Store.WebhookEndpoints(r.Context(), owner)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.ui.Now()
	view := webhooksView{Form: f, BrokerWide: owner == ""}
	for _, t := range store.EventTypes {
		// Broker-wide endpoints get broker-wide events only; tenants never
		// broker.health_changed.
		if owner == "" && brokerWide[t] || owner != "" && t != store.EventBrokerHealthChanged {
			view.Types = append(view.Types, option{t, t, slices.Contains(f.EventTypes, t)})
		}
	}
	if owner != "" {
		projects, err := h.Service.Store.ListProjects(r.Context(), owner)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, p := range projects {
			view.Projects = append(view.Projects, option{p.ID, p.Name, slices.Contains(f.ProjectIDs, p.ID)})
		}
	}
	for _, e := range eps {
		view.Endpoints = append(view.Endpoints, endpointRow{WebhookEndpoint: e, Href: webhookHref(e.ID),
			Types: typesLabel(e.EventTypes), Disabled: whenPtr(e.DisabledAt, now), Failing: whenPtr(e.FailingSince, now)})
	}
	h.ui.Render(w, r, status, "admin_webhooks.html", web.Page{Title: "Webhooks", Data: view})
}

func webhookHref(id string) string { return "/webhooks/" + url.PathEscape(id) }

// secretView is admin_webhook_secret.html's data: the secret, shown once.
type secretView struct {
	Title, Secret, URL, Href, Overlap string
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) {
	owner, v, ok := h.webhookOwner(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	f := webhookForm{URL: strings.TrimSpace(r.PostForm.Get("url")), Description: strings.TrimSpace(r.PostForm.Get("description")),
		EventTypes: r.PostForm["event_types"], ProjectIDs: r.PostForm["projects"]}
	in := webhooks.Input{URL: f.URL, Description: f.Description, EventTypes: f.EventTypes}
	if len(f.ProjectIDs) > 0 {
		in.ProjectIDs = f.ProjectIDs
	}
	ep, secret, err := h.Webhooks.Create(r.Context(), owner, v.Label, in)
	if fe, ok := webhooks.AsFieldError(err); ok {
		f.Check(false, fe.Field, fe.Message)
		h.renderWebhooks(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.ui.Render(w, r, http.StatusCreated, "admin_webhook_secret.html", web.Page{Title: "Webhook endpoint added",
		Data: secretView{Title: "Endpoint added", Secret: secret, URL: ep.URL, Href: webhookHref(ep.ID)}})
}

// webhookAction serves the POSTs of an endpoint's page.
func (h *Handler) webhookAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		owner, v, ok := h.webhookOwner(w, r)
		if !ok || !h.parseForm(w, r) {
			return
		}
		ctx, id := r.Context(), chi.URLParam(r, "id")
		var msg string
		var err error
		switch action {
		case "test":
			err, msg = h.Webhooks.SendTest(ctx, owner, id, v.Label), "A test event is on its way; its delivery shows below."
		case "enable", "disable":
			_, err = h.Webhooks.SetEnabled(ctx, owner, id, action == "enable")
			msg = "Endpoint " + action + "d."
		case "resend":
			err = h.Webhooks.Store.ResendWebhookDelivery(ctx, owner, id, chi.URLParam(r, "delivery"), h.ui.Now())
			msg = "The delivery is queued again."
		case "replay":
			msg, err = h.replay(r, owner, id)
		}
		if err != nil {
			h.webhookFail(w, r, err)
			return
		}
		h.ui.SetFlash(w, "info", msg)
		http.Redirect(w, r, webhookHref(id), http.StatusSeeOther)
	}
}

func (h *Handler) webhookFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such webhook endpoint.")
	case errors.Is(err, store.ErrConflict):
		h.ui.ErrorPage(w, r, http.StatusConflict, "The endpoint is disabled: enable it first.")
	case errors.Is(err, errBadSince):
		h.ui.ErrorPage(w, r, http.StatusUnprocessableEntity, "Replay since needs a date and time, e.g. 2026-03-01T09:00 (UTC).")
	default:
		h.fail(w, r, err)
	}
}
