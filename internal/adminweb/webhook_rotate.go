package adminweb

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// rotateWebhookView is admin_webhook_rotate.html's data.
type rotateWebhookView struct {
	web.Form
	E            store.WebhookEndpoint
	Href         string
	NeedPassword bool
	Overlap      string // how long the current secret keeps signing, in words
}

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

// confirmRotateWebhook serves GET /webhooks/{id}/rotate-secret: what
// rotating does, and the password when the session entered it more than
// the re-authentication window ago (a session signed in with Microsoft is
// sent there first instead).
func (h *Handler) confirmRotateWebhook(w http.ResponseWriter, r *http.Request) {
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
	h.renderRotateWebhook(w, r, http.StatusOK, rotateWebhookView{E: ep, Href: webhookHref(ep.ID), NeedPassword: h.needPassword(wv), Overlap: h.overlapWords()})
}

// rotateWebhook serves POST /webhooks/{id}/rotate-secret: a new signing
// secret, shown once, after a fresh password or Microsoft sign-in. A wrong
// or missing password changes nothing.
func (h *Handler) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	ctx, id := r.Context(), chi.URLParam(r, "id")
	ep, err := h.Webhooks.Store.WebhookEndpoint(ctx, owner, id)
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	_, wv, _ := viewerOf(r)
	if h.askMicrosoft(w, r, wv, webhookHref(ep.ID)+"/rotate-secret") {
		return
	}
	rv := rotateWebhookView{E: ep, Href: webhookHref(ep.ID), NeedPassword: h.needPassword(wv), Overlap: h.overlapWords()}
	if rv.NeedPassword && !h.reauthenticate(w, r, wv, &rv.Form) {
		h.renderRotateWebhook(w, r, reauthStatus(rv.Form), rv)
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

func (h *Handler) renderRotateWebhook(w http.ResponseWriter, r *http.Request, status int, v rotateWebhookView) {
	h.ui.Render(w, r, status, "admin_webhook_rotate.html", web.Page{Title: "Rotate signing secret", Data: v})
}
