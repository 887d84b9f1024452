package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

// webhookRoutes registers /api/v1/admin/webhooks: a tenant admin's key
// manages its tenant's endpoints, an operator key the broker-wide ones.
func (h *Handler) webhookRoutes(r chi.Router) {
	r.Get("/webhooks", h.listWebhooks)
	r.Post("/webhooks", h.createWebhook)
	r.Get("/webhooks/{id}", h.getWebhook)
	r.Patch("/webhooks/{id}", h.updateWebhook)
	r.Delete("/webhooks/{id}", h.deleteWebhook)
	r.Post("/webhooks/{id}/rotate-secret", h.rotateWebhook)
	r.Post("/webhooks/{id}/test", h.testWebhook)
	r.Post("/webhooks/{id}/replay", h.replayWebhook)
	r.Post("/webhooks/{id}/deliveries/{delivery}/resend", h.resendDelivery)
}

// webhookOwner is whose endpoints the key manages: its tenant for a
// tenant admin's key that covers every project (an endpoint may carry any
// of them), "" for an operator's.
func (h *Handler) webhookOwner(w http.ResponseWriter, r *http.Request) (owner, by string, ok bool) {
	v, ok := h.viewer(w, r)
	if !ok {
		return "", "", false
	}
	if h.Webhooks == nil {
		writeProblem(w, "not_found", "Webhooks are not enabled on this broker.")
		return "", "", false
	}
	switch {
	case v.Operator():
		return "", v.Label, true
	case v.TenantAdmin() && v.AllProjects:
		return v.TenantID, v.Label, true
	}
	writeProblem(w, "forbidden", "Webhooks are managed with an admin key that covers every project of the tenant.")
	return "", "", false
}

type webhookJSON struct {
	ID                  string     `json:"id"`
	URL                 string     `json:"url"`
	Description         string     `json:"description"`
	EventTypes          []string   `json:"event_types"`
	ProjectIDs          []string   `json:"project_ids"`
	Enabled             bool       `json:"enabled"`
	DisabledReason      string     `json:"disabled_reason,omitempty"`
	DisabledAt          *time.Time `json:"disabled_at,omitempty"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	FailingSince        *time.Time `json:"failing_since,omitempty"`
	BrokerWide          bool       `json:"broker_wide"`
	CreatedAt           time.Time  `json:"created_at"`
	// Secret is the signing secret, in the answers that made it only.
	Secret string `json:"secret,omitempty"`
}

func toWebhookJSON(e store.WebhookEndpoint) webhookJSON {
	return webhookJSON{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: nonNilStrings(e.EventTypes),
		ProjectIDs: e.ProjectIDs, Enabled: e.Enabled, DisabledReason: e.DisabledReason, DisabledAt: e.DisabledAt,
		PreviousSecretUntil: e.PreviousSecretUntil, FailingSince: e.FailingSince, BrokerWide: e.TenantID == "",
		CreatedAt: e.CreatedAt}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	StatusCode    *int       `json:"status_code,omitempty"`
	Error         string     `json:"error,omitempty"`
	DurationMS    *int       `json:"duration_ms,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	eps, err := h.Webhooks.Store.WebhookEndpoints(r.Context(), owner)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []webhookJSON{}
	for _, e := range eps {
		out = append(out, toWebhookJSON(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

// webhookBody is the JSON of create and update; absent fields keep their
// value on update.
type webhookBody struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	EventTypes  []string  `json:"event_types"`
	ProjectIDs  *[]string `json:"project_ids"`
	Enabled     *bool     `json:"enabled"`
}

func (h *Handler) decodeWebhook(w http.ResponseWriter, r *http.Request) (webhookBody, bool) {
	var b webhookBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil && !errors.Is(err, io.EOF) {
		writeProblem(w, "invalid_request", "The body must be a JSON object with url, description, event_types, project_ids or enabled.")
		return b, false
	}
	return b, true
}

func (b webhookBody) input(cur store.WebhookEndpoint) webhooks.Input {
	in := webhooks.Input{URL: cur.URL, Description: cur.Description, EventTypes: cur.EventTypes, ProjectIDs: cur.ProjectIDs}
	if b.URL != nil {
		in.URL = *b.URL
	}
	if b.Description != nil {
		in.Description = *b.Description
	}
	if b.EventTypes != nil {
		in.EventTypes = b.EventTypes
	}
	if b.ProjectIDs != nil {
		in.ProjectIDs = *b.ProjectIDs
	}
	return in
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) {
	owner, by, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	b, ok := h.decodeWebhook(w, r)
	if !ok {
		return
	}
	ep, secret, err := h.Webhooks.Create(r.Context(), owner, by, b.input(store.WebhookEndpoint{}))
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	out := toWebhookJSON(ep)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	ep, err := h.Webhooks.Store.WebhookEndpoint(r.Context(), owner, chi.URLParam(r, "id"))
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	ds, err := h.Webhooks.Store.WebhookDeliveries(r.Context(), owner, ep.ID, 100)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []deliveryJSON{}
	for _, d := range ds {
		dj := deliveryJSON{ID: d.ID, EventID: webhooks.EventID(d.EventID), EventType: d.EventType, Status: d.Status,
			Attempts: d.Attempts, LastAttemptAt: d.LastAttemptAt, StatusCode: d.LastStatusCode, Error: d.LastError,
			DurationMS: d.LastDurationMS, DeliveredAt: d.DeliveredAt}
		if d.Status == "pending" {
			dj.NextAttemptAt = &d.NextAttemptAt
		}
		out = append(out, dj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": toWebhookJSON(ep), "deliveries": out})
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	b, ok := h.decodeWebhook(w, r)
	if !ok {
		return
	}
	cur, err := h.Webhooks.Store.WebhookEndpoint(r.Context(), owner, chi.URLParam(r, "id"))
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	ep, err := h.Webhooks.Update(r.Context(), owner, cur.ID, b.input(cur), b.Enabled)
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(ep))
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	if err := h.Webhooks.Store.DeleteWebhookEndpoint(r.Context(), owner, chi.URLParam(r, "id")); err != nil {
		h.webhookFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	secret, until, err := h.Webhooks.Rotate(r.Context(), owner, chi.URLParam(r, "id"))
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"secret": secret, "previous_secret_until": until})
}

func (h *Handler) testWebhook(w http.ResponseWriter, r *http.Request) {
	owner, by, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	if err := h.Webhooks.SendTest(r.Context(), owner, chi.URLParam(r, "id"), by); err != nil {
		h.webhookFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "A webhook.test event is queued for this endpoint."})
}

func (h *Handler) replayWebhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	var b struct {
		Since time.Time `json:"since"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Since.IsZero() {
		writeProblemField(w, "invalid_input", "Send {\"since\": \"2026-01-02T15:04:05Z\"}: the time to replay events from.", "since")
		return
	}
	n, err := h.Webhooks.Store.ReplayWebhookSince(r.Context(), owner, chi.URLParam(r, "id"), b.Since, h.Now())
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": n})
}

func (h *Handler) resendDelivery(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	err := h.Webhooks.Store.ResendWebhookDelivery(r.Context(), owner, chi.URLParam(r, "id"), chi.URLParam(r, "delivery"), h.Now())
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "The delivery is queued again."})
}

// webhookFail maps the service's and store's refusals to problems.
func (h *Handler) webhookFail(w http.ResponseWriter, r *http.Request, err error) {
	if fe, ok := webhooks.AsFieldError(err); ok {
		writeProblemField(w, "invalid_input", fe.Message, fe.Field)
		return
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, "webhook_not_found", "There is no such webhook endpoint (or delivery) for this key.")
	case errors.Is(err, store.ErrConflict):
		writeProblem(w, "conflict", "The endpoint is disabled: enable it first.")
	default:
		h.fail(w, r, err)
	}
}
