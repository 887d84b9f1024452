package adminweb

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// Webhook actions confirmed like other destructive and secret actions: a
// page first, and the password again after the re-authentication window
// (Microsoft again for a session signed in with it).
const (
	webhookRotate = "rotate-secret"
	webhookDelete = "delete"
)

// webhookConfirmView is admin_webhook_confirm.html's data.
type webhookConfirmView struct {
	web.Form
	E            store.WebhookEndpoint
	Href         string
	Action       string // webhookRotate or webhookDelete
	NeedPassword bool
	Overlap      string // rotate: how long the current secret keeps signing, in words
}

// Delete is true on the delete confirmation.
func (v webhookConfirmView) Delete() bool { return v.Action == webhookDelete }

// overlapWords is the rotated-out secret's overlap as the page says it.
func (h *Handler) overlapWords() string {
	d := h.Webhooks.Overlap
	if d <= 0 {
		d = 24 * time.Hour
	}
	if d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return d.String()
}

// confirmWebhook serves GET /webhooks/{id}/{action}: what the action does,
// and the password field when the session entered it more than the window
// ago (a session signed in with Microsoft is sent there first instead).
func (h *Handler) confirmWebhook(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		owner, _, ok := h.webhookOwner(w, r)
		if !ok {
			return
		}
		ep, err := h.Webhooks.Store.WebhookEndpoint(r.Context(), owner, chi.URLParam(r, "id"))
		if err != nil {
			h.webhookFail(w, r, err)
			return
		}
		_, wv, _ := viewerOf(r)
		if h.askMicrosoft(w, r, wv, r.URL.Path) {
			return
		}
		h.renderWebhookConfirm(w, r, http.StatusOK, h.webhookConfirmView(ep, action, wv))
	}
}

func (h *Handler) webhookConfirmView(ep store.WebhookEndpoint, action string, wv *web.ViewerInfo) webhookConfirmView {
	return webhookConfirmView{E: ep, Href: webhookHref(ep.ID), Action: action, NeedPassword: h.needPassword(wv),
		Overlap: h.overlapWords()}
}

// doWebhook serves POST /webhooks/{id}/{action} after a fresh password or
// Microsoft sign-in: rotate shows the new secret once, delete goes back to
// the list. A wrong or missing password changes nothing.
func (h *Handler) doWebhook(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		owner, _, ok := h.webhookOwner(w, r)
		if !ok || !h.parseForm(w, r) {
			return
		}
		ctx := r.Context()
		ep, err := h.Webhooks.Store.WebhookEndpoint(ctx, owner, chi.URLParam(r, "id"))
		if err != nil {
			h.webhookFail(w, r, err)
			return
		}
		_, wv, _ := viewerOf(r)
		if h.askMicrosoft(w, r, wv, webhookHref(ep.ID)+"/"+action) {
			return
		}
		cv := h.webhookConfirmView(ep, action, wv)
		if cv.NeedPassword && !h.reauthenticate(w, r, wv, &cv.Form) {
			h.renderWebhookConfirm(w, r, reauthStatus(cv.Form), cv)
			return
		}
		if action == webhookDelete {
			if err := h.Webhooks.Store.DeleteWebhookEndpoint(ctx, owner, ep.ID); err != nil {
				h.webhookFail(w, r, err)
				return
			}
			h.ui.SetFlash(w, "info", "Endpoint deleted.")
			web.SeeOther(w, r, "/webhooks")
			return
		}
		secret, until, err := h.Webhooks.Rotate(ctx, owner, ep.ID)
		if err != nil {
			h.webhookFail(w, r, err)
			return
		}
		h.ui.Render(w, r, http.StatusOK, "admin_webhook_secret.html", web.Page{Title: "Signing secret rotated",
			Data: secretView{Title: "Signing secret rotated", Secret: secret, Href: webhookHref(ep.ID),
				Overlap: until.UTC().Format("2 Jan 2006 15:04 UTC")}})
	}
}

func (h *Handler) renderWebhookConfirm(w http.ResponseWriter, r *http.Request, status int, v webhookConfirmView) {
	title := "Rotate signing secret"
	if v.Delete() {
		title = "Delete webhook endpoint"
	}
	h.ui.Render(w, r, status, "admin_webhook_confirm.html", web.Page{Title: title, Data: v})
}
