package adminweb

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// webhookView is admin_webhook.html's data.
type webhookView struct {
	E          store.WebhookEndpoint
	Types      string
	Projects   string
	Disabled   When
	Failing    When
	Overlap    When
	Deliveries []deliveryRow
	Href       string
	AutoOff    bool // disabled by the broker, not an admin: the banner says so
	SinceValue string
}

type deliveryRow struct {
	store.Delivery
	EventID    string
	Last       When
	Next       When
	Code       string
	Duration   string
	ResendHref string
}

func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	owner, _, ok := h.webhookOwner(w, r)
	if !ok {
		return
	}
	ep, err := h.Webhooks.Store.WebhookEndpoint(r.Context(), owner, chi.URLParam(r, "id"))
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	ds, err := h.Webhooks.Store.WebhookDeliveries(r.Context(), owner, ep.ID, 50)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.ui.Now()
	v := webhookView{E: ep, Types: typesLabel(ep.EventTypes), Disabled: whenPtr(ep.DisabledAt, now),
		Failing: whenPtr(ep.FailingSince, now), Href: webhookHref(ep.ID),
		AutoOff:    !ep.Enabled && ep.DisabledReason != "" && ep.DisabledReason != "Disabled by an administrator.",
		SinceValue: now.UTC().Add(-24 * time.Hour).Format("2006-01-02T15:04")}
	if ep.PreviousSecretUntil != nil && ep.PreviousSecretUntil.After(now) {
		v.Overlap = when(*ep.PreviousSecretUntil, now)
	}
	v.Projects = "Every project"
	if ep.ProjectIDs != nil {
		names := map[string]string{}
		if ps, err := h.Service.Store.ListProjects(r.Context(), owner); err == nil {
			for _, p := range ps {
				names[p.ID] = p.Name
			}
		}
		v.Projects = projectNames(ep.ProjectIDs, names)
	}
	for _, d := range ds {
		row := deliveryRow{Delivery: d, EventID: webhooks.EventID(d.EventID), Last: whenPtr(d.LastAttemptAt, now),
			ResendHref: v.Href + "/deliveries/" + url.PathEscape(d.ID) + "/resend"}
		if d.Status == "pending" {
			row.Next = when(d.NextAttemptAt, now)
		}
		if d.LastStatusCode != nil {
			row.Code = fmt.Sprint(*d.LastStatusCode)
		}
		if d.LastDurationMS != nil {
			row.Duration = fmt.Sprintf("%d ms", *d.LastDurationMS)
		}
		v.Deliveries = append(v.Deliveries, row)
	}
	h.ui.Render(w, r, http.StatusOK, "admin_webhook.html", web.Page{Title: "Webhook endpoint", Data: v})
}

var errBadSince = errors.New("adminweb: bad replay time")

// replay queues the endpoint's events since the form's time (UTC).
func (h *Handler) replay(r *http.Request, owner, id string) (string, error) {
	since, err := time.Parse("2006-01-02T15:04", r.PostForm.Get("since"))
	if err != nil {
		return "", errBadSince
	}
	n, err := h.Webhooks.Store.ReplayWebhookSince(r.Context(), owner, id, since, h.ui.Now())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d events since %s queued again, in order.", n, since.Format("2 Jan 2006 15:04 UTC")), nil
}
